"""Connections made before authorized_at existed were authorized when created (or
renewed since, which we cannot know: the earlier date warns too early, never too late)."""

from django.db import migrations
from django.db.models import F


def fill(apps, schema_editor):
    SellerConnection = apps.get_model("amazon", "SellerConnection")
    SellerConnection.objects.filter(authorized_at=None).update(authorized_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("amazon", "0003_authorization_housekeeping")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
