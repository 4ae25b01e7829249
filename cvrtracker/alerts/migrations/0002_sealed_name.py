"""Encrypt the team's label at rest (issue 15), step 1 of 3: a new column beside the old
(the pattern of privacy 0002-0004, lib/fields_migration.py)."""

from django.db import migrations, models

import cvrtracker.lib.fields


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="alertchannel",
            name="name",
            field=models.CharField(max_length=100, null=True),
        ),
        migrations.AddField(
            model_name="alertchannel",
            name="name_sealed",
            field=cvrtracker.lib.fields.EncryptedTextField(null=True, blank=True),
        ),
    ]
