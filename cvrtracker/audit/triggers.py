"""The database's own guard on the audit trail: it refuses UPDATE of an entry, but for
one that re-encrypts its encrypted columns (the master-key rotation,
front/rotation.py) and changes nothing else.

Migrations install it (0015) and, on SQLite, install it again after a table rebuild,
which drops triggers. The SQLite trigger lists the other columns as the table has them
when it is installed; PostgreSQL compares whole rows, so a column added later is
guarded without a new trigger. A re-encrypted value is not checked here (the database
has no key): the hash chain covers the plaintext, so audit_verify finds a changed
value; the trigger only refuses an encrypted value turning NULL or back.
"""

from __future__ import annotations

TABLE = "audit_auditentry"
TRIGGER = "audit_entry_append_only"
# The encrypted columns (AuditEntry's EncryptedTextFields).
SEALED = ("ip", "user_agent", "detail")
MESSAGE = "audit entries are append-only"

_POSTGRES = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_update() RETURNS trigger AS $$
BEGIN
    IF (to_jsonb(NEW) - {sealed}) IS DISTINCT FROM (to_jsonb(OLD) - {sealed})
        OR {nullness} THEN
        RAISE EXCEPTION '{message}';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS {trigger} ON {table};
CREATE TRIGGER {trigger} BEFORE UPDATE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_update();
"""
_SQLITE = """
CREATE TRIGGER {trigger} BEFORE UPDATE ON {table}
WHEN {changed}
BEGIN
    SELECT RAISE(ABORT, '{message}');
END;
"""


def _nullness(quote) -> list[str]:
    return [f"((NEW.{quote(c)} IS NULL) <> (OLD.{quote(c)} IS NULL))" for c in SEALED]


def append_only_install(schema_editor) -> None:
    """(Re)create the trigger on this database (PostgreSQL or SQLite)."""
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        schema_editor.execute(
            _POSTGRES.format(
                sealed=" - ".join(f"'{c}'" for c in SEALED),
                nullness=" OR ".join(_nullness(quote)),
                message=MESSAGE,
                trigger=TRIGGER,
                table=TABLE,
            )
        )
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            columns = [
                c.name for c in connection.introspection.get_table_description(cursor, TABLE)
            ]
        changed = [f"NEW.{quote(c)} IS NOT OLD.{quote(c)}" for c in columns if c not in SEALED]
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
        schema_editor.execute(
            _SQLITE.format(
                changed="\n    OR ".join([*changed, *_nullness(quote)]),
                message=MESSAGE,
                trigger=TRIGGER,
                table=TABLE,
            )
        )


def append_only_remove(schema_editor) -> None:
    """Drop the trigger (a migration that must rewrite entries, then installs it again)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {TABLE}")
    elif vendor == "sqlite":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
