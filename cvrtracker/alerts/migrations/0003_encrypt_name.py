"""Encrypt the team's label at rest (issue 15), step 2 of 3: every row's name into the
new column. Backwards: decrypt it again."""

from django.db import migrations

from cvrtracker.lib.fields_migration import decrypt_rows, encrypt_rows


def forwards(apps, schema_editor):
    encrypt_rows(apps.get_model("alerts", "alertchannel"), ("name",))


def backwards(apps, schema_editor):
    decrypt_rows(apps.get_model("alerts", "alertchannel"), ("name",))


class Migration(migrations.Migration):
    dependencies = [("alerts", "0002_sealed_name")]

    operations = [migrations.RunPython(forwards, backwards)]
