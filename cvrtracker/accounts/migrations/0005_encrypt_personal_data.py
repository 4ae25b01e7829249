"""Encrypt the accounts app's personal data (issue 15): the users' addresses and names,
team names, invitation addresses, and the IP addresses and browsers of sessions.

Each plaintext column is renamed `<name>_plain`, the encrypted column is added under
the final name (its name is part of the ciphertext's associated data, so it must be
the final one when the rows are encrypted), every row is encrypted, and the plaintext
columns are dropped. Reversible: going back decrypts into the re-added columns.
"""

from django.db import migrations, models

import cvrtracker.lib.fields

# model -> (encrypted fields, blind indexes written beside them)
PLAN = {
    "user": (("email", "name", "pending_email"), ("email_index",)),
    "team": (("name",), ()),
    "invitation": (("email",), ("email_index",)),
    "usersession": (("ip", "user_agent"), ()),
}
# Plaintext columns that held "" (not NULL) for no value.
NOT_NULL = {("user", "pending_email"), ("usersession", "user_agent")}
BATCH = 500


def _rows(model, alias):
    """Every row, a batch at a time by primary key (safe to save while walking)."""
    last = 0
    while True:
        batch = list(model.objects.using(alias).filter(pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            return
        yield from batch
        last = batch[-1].pk


def encrypt(apps, schema_editor):
    alias = schema_editor.connection.alias
    for name, (fields, indexes) in PLAN.items():
        model = apps.get_model("accounts", name)
        for row in _rows(model, alias):
            for field in fields:
                value = getattr(row, f"{field}_plain")
                if value is None and (name, field) in NOT_NULL:
                    value = ""
                setattr(row, field, value)
            row.save(using=alias, update_fields=[*fields, *indexes])


def decrypt(apps, schema_editor):
    alias = schema_editor.connection.alias
    for name, (fields, _) in PLAN.items():
        model = apps.get_model("accounts", name)
        for row in _rows(model, alias):
            for field in fields:
                value = getattr(row, field)
                if value is None and (name, field) in NOT_NULL:
                    value = ""
                setattr(row, f"{field}_plain", value)
            row.save(using=alias, update_fields=[f"{field}_plain" for field in fields])


def encrypted(**kwargs):
    return cvrtracker.lib.fields.EncryptedTextField(**kwargs)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_team_deletion_requested_at_and_more"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="invitation", name="one_open_invitation_per_email"),
        *(
            migrations.RenameField(model_name=model, old_name=field, new_name=f"{field}_plain")
            for model, (fields, _) in PLAN.items()
            for field in fields
        ),
        # Loosened first, so that going back can re-add them to full tables and fill
        # them before their constraints return.
        migrations.AlterField("user", "email_plain", models.EmailField(max_length=254, null=True)),
        migrations.AlterField("user", "name_plain", models.CharField(max_length=150, null=True)),
        migrations.AlterField(
            "user", "pending_email_plain", models.EmailField(max_length=254, null=True)
        ),
        migrations.AlterField("team", "name_plain", models.CharField(max_length=100, null=True)),
        migrations.AlterField(
            "invitation", "email_plain", models.EmailField(max_length=254, null=True)
        ),
        migrations.AlterField(
            "usersession", "user_agent_plain", models.CharField(max_length=300, null=True)
        ),
        migrations.AddField("user", "email", encrypted(max_length=254, null=True)),
        migrations.AddField(
            "user",
            "email_index",
            cvrtracker.lib.fields.BlindIndexField(source="email", purpose="email", null=True),
        ),
        migrations.AddField("user", "name", encrypted(max_length=150, null=True)),
        migrations.AddField("user", "pending_email", encrypted(max_length=254, null=True)),
        migrations.AddField("team", "name", encrypted(max_length=100, null=True)),
        migrations.AddField("invitation", "email", encrypted(max_length=254, null=True)),
        migrations.AddField(
            "invitation",
            "email_index",
            cvrtracker.lib.fields.BlindIndexField(source="email", purpose="email", null=True),
        ),
        migrations.AddField("usersession", "ip", encrypted(max_length=39, null=True, blank=True)),
        migrations.AddField("usersession", "user_agent", encrypted(max_length=300, null=True)),
        migrations.RunPython(encrypt, decrypt),
        *(
            migrations.RemoveField(model_name=model, name=f"{field}_plain")
            for model, (fields, _) in PLAN.items()
            for field in fields
        ),
        migrations.AlterField("user", "email", encrypted(max_length=254)),
        migrations.AlterField(
            "user",
            "email_index",
            cvrtracker.lib.fields.BlindIndexField(source="email", purpose="email", unique=True),
        ),
        migrations.AlterField("user", "name", encrypted(max_length=150)),
        migrations.AlterField("user", "pending_email", encrypted(max_length=254, blank=True)),
        migrations.AlterField("team", "name", encrypted(max_length=100)),
        migrations.AlterField("invitation", "email", encrypted(max_length=254)),
        migrations.AlterField(
            "invitation",
            "email_index",
            cvrtracker.lib.fields.BlindIndexField(source="email", purpose="email"),
        ),
        migrations.AlterField("usersession", "user_agent", encrypted(max_length=300, blank=True)),
        migrations.AddConstraint(
            model_name="invitation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("accepted_at__isnull", True)),
                fields=("team", "email_index"),
                name="one_open_invitation_per_email",
            ),
        ),
    ]
