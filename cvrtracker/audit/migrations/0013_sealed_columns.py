"""Encrypt the IP address, browser and detail of audit entries (issue 15), step 1 of 3:
new columns beside the old, and the append-only trigger lifted until step 3 (0015)
installs the one that lets the rotation re-encrypt (audit/triggers.py). Step 2 (0014)
fills the new columns. Backwards, the strict trigger of 0002 comes back."""

from django.db import migrations, models

import cvrtracker.lib.fields
from cvrtracker.audit.triggers import append_only_remove

SEALED = ("ip", "user_agent", "detail")
STRICT_POSTGRES = """
CREATE OR REPLACE FUNCTION audit_entry_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_update();
"""
STRICT_SQLITE = """
CREATE TRIGGER IF NOT EXISTS audit_entry_append_only BEFORE UPDATE ON audit_auditentry
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;
"""


def lift(apps, schema_editor):
    append_only_remove(schema_editor)


def strict(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(STRICT_POSTGRES)
    elif vendor == "sqlite":
        schema_editor.execute(STRICT_SQLITE)


class Migration(migrations.Migration):
    dependencies = [("audit", "0012_privacy")]

    operations = [
        # First, so that backwards the strict trigger comes back last (on SQLite
        # AlterField rebuilds the table, which drops triggers).
        migrations.RunPython(lift, strict),
        # The plaintext columns take NULL from here on, so that migrating back can add
        # them again empty before 0014 fills them.
        migrations.AlterField(
            model_name="auditentry",
            name="user_agent",
            field=models.CharField(max_length=300, null=True),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="detail",
            field=models.CharField(max_length=200, null=True),
        ),
        *(
            migrations.AddField(
                model_name="auditentry",
                name=f"{field}_sealed",
                field=cvrtracker.lib.fields.EncryptedTextField(null=True, blank=True),
            )
            for field in SEALED
        ),
    ]
