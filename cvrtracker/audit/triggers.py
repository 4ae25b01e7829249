"""The database's own guard on the audit trail: it refuses UPDATE of an entry, but for
one that re-encrypts its encrypted columns (the master-key rotation,
front/rotation.py) and changes nothing else.

Migrations install it (0015) and, on SQLite, install it again after a table rebuild,
which drops triggers. PostgreSQL compares whole rows but the encrypted columns, so a
column added later is guarded too; SQLite compares the columns GUARDED names, which a
test keeps equal to the model's (a new column must be added there, and the trigger
installed again by its migration). A re-encrypted value is not checked here (the
database has no key): the hash chain covers the plaintext, so audit_verify finds a
changed value; the trigger only refuses an encrypted value turning NULL or back.
"""

from __future__ import annotations

# The encrypted columns (AuditEntry's EncryptedTextFields), and every other one.
SEALED = ("ip", "user_agent", "detail")
GUARDED = (
    "id",
    "code",
    "created_at",
    "team_id",
    "actor_id",
    "action",
    "target_type",
    "target_code",
    "chain",
    "seq",
    "prev_hash",
    "hash",
)

POSTGRES_INSTALL = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_update() RETURNS trigger AS $$
BEGIN
    IF (to_jsonb(NEW) - 'ip' - 'user_agent' - 'detail')
            IS DISTINCT FROM (to_jsonb(OLD) - 'ip' - 'user_agent' - 'detail')
        OR (NEW.ip IS NULL) <> (OLD.ip IS NULL)
        OR (NEW.user_agent IS NULL) <> (OLD.user_agent IS NULL)
        OR (NEW.detail IS NULL) <> (OLD.detail IS NULL) THEN
        RAISE EXCEPTION 'audit entries are append-only';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_update();
"""
POSTGRES_REMOVE = "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry"

SQLITE_INSTALL = """
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_auditentry
WHEN NEW.id IS NOT OLD.id
    OR NEW.code IS NOT OLD.code
    OR NEW.created_at IS NOT OLD.created_at
    OR NEW.team_id IS NOT OLD.team_id
    OR NEW.actor_id IS NOT OLD.actor_id
    OR NEW.action IS NOT OLD.action
    OR NEW.target_type IS NOT OLD.target_type
    OR NEW.target_code IS NOT OLD.target_code
    OR NEW.chain IS NOT OLD.chain
    OR NEW.seq IS NOT OLD.seq
    OR NEW.prev_hash IS NOT OLD.prev_hash
    OR NEW.hash IS NOT OLD.hash
    OR (NEW.ip IS NULL) <> (OLD.ip IS NULL)
    OR (NEW.user_agent IS NULL) <> (OLD.user_agent IS NULL)
    OR (NEW.detail IS NULL) <> (OLD.detail IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
"""
SQLITE_REMOVE = "DROP TRIGGER IF EXISTS audit_entry_append_only"


def append_only_install(schema_editor) -> None:
    """(Re)create the trigger on this database (PostgreSQL or SQLite)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_INSTALL)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REMOVE)
        schema_editor.execute(SQLITE_INSTALL)


def append_only_remove(schema_editor) -> None:
    """Drop the trigger (a migration that must rewrite entries, then installs it again)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_REMOVE)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_REMOVE)
