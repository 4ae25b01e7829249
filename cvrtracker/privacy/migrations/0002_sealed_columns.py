"""Encrypt personal data at rest (issue 15), step 1 of 3: new columns beside the old.

Step 2 (0003) encrypts every existing row's values into them, step 3 (0004) drops
the plaintext columns and gives the new ones their names. Three migrations, so each
runs in a transaction of its own on PostgreSQL (no ALTER TABLE after the UPDATEs).
The plaintext columns take NULL from here on, so that migrating back can add them
again empty before 0003 fills them.
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
        *(
            migrations.AlterField(model_name=model, name=field, field=definition)
            for model, field, definition in (
                ("usageevent", "user_agent", models.CharField(max_length=300, null=True)),
                ("usageevent", "path", models.CharField(max_length=300, null=True)),
                ("rightsrequest", "name", models.CharField(max_length=150, null=True)),
                ("rightsrequest", "email", models.EmailField(max_length=254, null=True)),
                ("rightsrequest", "details", models.TextField(null=True)),
                ("rightsrequest", "answer", models.TextField(null=True)),
                ("supportrequest", "name", models.CharField(max_length=150, null=True)),
                ("supportrequest", "email", models.EmailField(max_length=254, null=True)),
                ("supportrequest", "subject", models.CharField(max_length=200, null=True)),
                ("supportrequest", "message", models.TextField(null=True)),
                ("supportrequest", "answer", models.TextField(null=True)),
            )
        ),
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
