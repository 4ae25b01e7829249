"""Encrypt personal data at rest (issue 15), step 1 of 3: new columns beside the old.

Step 2 (0003) encrypts every existing row's values into them, step 3 (0004) drops
the plaintext columns and gives the new ones their names. Three migrations, so each
runs in a transaction of its own on PostgreSQL (no ALTER TABLE after the UPDATEs).
"""

from django.db import migrations, models

import cvrtracker.lib.fields

# (model, field) of every column encrypted by 0003.
SEALED = [
    ("usageevent", "ip"),
    ("usageevent", "user_agent"),
    ("usageevent", "path"),
    ("rightsrequest", "name"),
    ("rightsrequest", "email"),
    ("rightsrequest", "details"),
    ("rightsrequest", "answer"),
    ("supportrequest", "name"),
    ("supportrequest", "email"),
    ("supportrequest", "subject"),
    ("supportrequest", "message"),
    ("supportrequest", "answer"),
]


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial")]

    operations = [
        # Usage events had no public code; their encrypted columns need one to name the row.
        migrations.AddField(
            model_name="usageevent",
            name="code",
            field=models.UUIDField(null=True, editable=False),
        ),
        *(
            migrations.AddField(
                model_name=model,
                name=f"{field}_sealed",
                field=cvrtracker.lib.fields.EncryptedTextField(null=True, blank=True),
            )
            for model, field in SEALED
        ),
    ]
