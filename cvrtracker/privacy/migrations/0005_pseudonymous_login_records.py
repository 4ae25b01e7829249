"""django-axes' rows written before privacy/login_records.py held email addresses, IP
addresses and browsers in plaintext (issue 15). The failure log is rewritten as axes
now writes it (keyed HMACs, no browser); the log of successful log-ins, now switched
off, and the live failure counters are deleted: a lock-out in progress (30 minutes at
most) ends early, once, rather than two counters merging into one row."""

from django.db import migrations

from cvrtracker.privacy.login_records import axes_usernames, pseudonymous_ip


def forwards(apps, schema_editor):
    apps.get_model("axes", "AccessLog").objects.all().delete()
    apps.get_model("axes", "AccessAttempt").objects.all().delete()
    failures = apps.get_model("axes", "AccessFailureLog")
    for row in failures.objects.order_by("pk").iterator(chunk_size=500):
        failures.objects.filter(pk=row.pk).update(
            username=axes_usernames(row.username)[0] if row.username else None,
            ip_address=pseudonymous_ip(str(row.ip_address)) if row.ip_address else None,
            user_agent="",
        )


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0004_drop_plaintext_columns"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
