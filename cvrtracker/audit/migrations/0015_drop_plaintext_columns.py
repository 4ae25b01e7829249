"""Encrypt the IP address, browser and detail of audit entries (issue 15), step 3 of 3:
drop the plaintext columns, give the encrypted ones their names, and install the
append-only trigger that lets only a re-encryption of them through
(audit/triggers.py)."""

from django.db import migrations

import cvrtracker.lib.fields
from cvrtracker.audit.triggers import append_only_install, append_only_remove

FINAL = [
    ("ip", dict(max_length=39, null=True, blank=True)),
    ("user_agent", dict(max_length=300, blank=True)),
    ("detail", dict(max_length=200, blank=True)),
]


def install(apps, schema_editor):
    append_only_install(schema_editor)


def remove(apps, schema_editor):
    append_only_remove(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0014_encrypt_entries")]

    operations = [
        *(migrations.RemoveField(model_name="auditentry", name=field) for field, _ in FINAL),
        *(
            migrations.RenameField(
                model_name="auditentry", old_name=f"{field}_sealed", new_name=field
            )
            for field, _ in FINAL
        ),
        *(
            migrations.AlterField(
                model_name="auditentry",
                name=field,
                field=cvrtracker.lib.fields.EncryptedTextField(**options),
            )
            for field, options in FINAL
        ),
        migrations.RunPython(install, remove),
    ]
