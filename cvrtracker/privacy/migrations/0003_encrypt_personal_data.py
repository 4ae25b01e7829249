"""Encrypt personal data at rest (issue 15), step 2 of 3: every existing row's
plaintext into the new columns (lib/fields_migration.py). Backwards: decrypt into
the plaintext columns again."""

from django.db import migrations

from cvrtracker.lib.fields_migration import decrypt_rows, encrypt_rows

SEALED = {
    "usageevent": ("ip", "user_agent", "path"),
    "rightsrequest": ("name", "email", "details", "answer"),
    "supportrequest": ("name", "email", "subject", "message", "answer"),
}


def forwards(apps, schema_editor):
    for name, fields in SEALED.items():
        encrypt_rows(apps.get_model("privacy", name), fields)


def backwards(apps, schema_editor):
    for name, fields in SEALED.items():
        decrypt_rows(apps.get_model("privacy", name), fields)


class Migration(migrations.Migration):
    dependencies = [("privacy", "0002_sealed_columns")]

    operations = [migrations.RunPython(forwards, backwards)]
