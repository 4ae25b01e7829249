"""Encrypt the IP address, browser and detail of audit entries (issue 15), step 2 of 3:
every entry's plaintext into the new columns (lib/fields_migration.py). The hash
chain covers the plaintext, which does not change, so audit_verify stays green."""

from django.db import migrations

from cvrtracker.lib.fields_migration import decrypt_rows, encrypt_rows

SEALED = ("ip", "user_agent", "detail")


def forwards(apps, schema_editor):
    encrypt_rows(apps.get_model("audit", "AuditEntry"), SEALED)


def backwards(apps, schema_editor):
    decrypt_rows(apps.get_model("audit", "AuditEntry"), SEALED)


class Migration(migrations.Migration):
    dependencies = [("audit", "0013_sealed_columns")]

    operations = [migrations.RunPython(forwards, backwards)]
