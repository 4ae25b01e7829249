"""Chain the entries written before the hash chain existed, oldest first per team.

The append-only trigger of migration 0002 refuses these UPDATEs, so it is dropped
for the length of this migration and created again at its end. (On SQLite the
table rebuilds of 0008 dropped it already; creating it here brings it back.)
"""

from django.db import migrations

from cvrtracker.audit.chain import GENESIS, chain_key, entry_hash

POSTGRES_DROP = "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;"
POSTGRES_CREATE = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_update();
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS audit_entry_append_only;"
SQLITE_CREATE = """
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_auditentry
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
"""
TRIGGER = {
    "postgresql": (POSTGRES_DROP, POSTGRES_CREATE),
    "sqlite": (SQLITE_DROP, SQLITE_CREATE),
}


def chain_all(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    AuditChain = apps.get_model("audit", "AuditChain")
    Team = apps.get_model("accounts", "Team")
    drop, create = TRIGGER.get(schema_editor.connection.vendor, ("", ""))
    if drop:
        schema_editor.execute(drop)
    codes = dict(Team.objects.values_list("pk", "code"))
    heads: dict[str, tuple[int, str]] = {}
    for entry in AuditEntry.objects.order_by("created_at", "pk").iterator(chunk_size=2000):
        key = chain_key(codes.get(entry.team_id))
        seq, prev = heads.get(key, (0, GENESIS))
        entry.chain, entry.seq, entry.prev_hash = key, seq + 1, prev
        entry.hash = entry_hash(entry)
        entry.save(update_fields=["chain", "seq", "prev_hash", "hash"])
        heads[key] = (entry.seq, entry.hash)
    for key, (seq, last) in heads.items():
        AuditChain.objects.update_or_create(key=key, defaults={"last_seq": seq, "last_hash": last})
    if create:
        schema_editor.execute(create)


def unchain_all(apps, schema_editor):
    AuditChain = apps.get_model("audit", "AuditChain")
    AuditChain.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_chain"), ("accounts", "0001_initial")]
    operations = [migrations.RunPython(chain_all, unchain_all)]
