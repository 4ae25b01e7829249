"""Encrypt personal data at rest (issue 15), step 3 of 3: drop the plaintext columns
and give the encrypted ones their names and final definitions."""

import uuid

from django.db import migrations, models

import cvrtracker.lib.fields

# (model, field, the final field)
FINAL = [
    ("usageevent", "ip", dict(max_length=39, null=True, blank=True)),
    ("usageevent", "user_agent", dict(max_length=300, blank=True)),
    ("usageevent", "path", dict(max_length=300)),
    ("rightsrequest", "name", dict(max_length=150)),
    ("rightsrequest", "email", dict(max_length=254)),
    ("rightsrequest", "details", dict(blank=True)),
    ("rightsrequest", "answer", dict(blank=True)),
    ("supportrequest", "name", dict(max_length=150)),
    ("supportrequest", "email", dict(max_length=254)),
    ("supportrequest", "subject", dict(max_length=200)),
    ("supportrequest", "message", dict()),
    ("supportrequest", "answer", dict(blank=True)),
]


class Migration(migrations.Migration):
    dependencies = [("privacy", "0003_encrypt_personal_data")]

    operations = [
        migrations.AlterField(
            model_name="usageevent",
            name="code",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
        *(migrations.RemoveField(model_name=model, name=field) for model, field, _ in FINAL),
        *(
            migrations.RenameField(model_name=model, old_name=f"{field}_sealed", new_name=field)
            for model, field, _ in FINAL
        ),
        *(
            migrations.AlterField(
                model_name=model,
                name=field,
                field=cvrtracker.lib.fields.EncryptedTextField(**options),
            )
            for model, field, options in FINAL
        ),
    ]
