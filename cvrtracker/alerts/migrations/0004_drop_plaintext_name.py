"""Encrypt the team's label at rest (issue 15), step 3 of 3: drop the plaintext column
and give the encrypted one its name."""

from django.db import migrations

import cvrtracker.lib.fields


class Migration(migrations.Migration):
    dependencies = [("alerts", "0003_encrypt_name")]

    operations = [
        migrations.RemoveField(model_name="alertchannel", name="name"),
        migrations.RenameField(model_name="alertchannel", old_name="name_sealed", new_name="name"),
        migrations.AlterField(
            model_name="alertchannel",
            name="name",
            field=cvrtracker.lib.fields.EncryptedTextField(max_length=100),
        ),
    ]
