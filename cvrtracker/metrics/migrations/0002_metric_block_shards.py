"""Split ASIN blocks into shards.

A block's natural key, and so its ciphertext's associated data, now names its
shard: blocks written before cannot be read under the new layout. They are
deleted and every Sales & Traffic report is asked from Amazon again (the source
of truth), which rebuilds them sharded. Nothing is lost that Amazon cannot give
back: the backfill covers the same two years.
"""

from django.db import migrations, models
from django.utils import timezone


def rebuild_from_amazon(apps, schema_editor):
    MetricBlock = apps.get_model("metrics", "MetricBlock")
    SalesTrafficDay = apps.get_model("amazon", "SalesTrafficDay")
    MetricBlock.objects.all().delete()
    SalesTrafficDay.objects.filter(status__in=("done", "cancelled")).update(
        status="due", next_attempt_at=timezone.now(), attempts=0, report_id=""
    )


class Migration(migrations.Migration):
    dependencies = [
        ("amazon", "0002_sync_schedule"),
        ("metrics", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(rebuild_from_amazon, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="metricblock",
            name="metrics_block_unique",
        ),
        migrations.AddField(
            model_name="metricblock",
            name="shard",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="metricblock",
            constraint=models.UniqueConstraint(
                fields=("connection", "marketplace_id", "granularity", "month", "shard"),
                name="metrics_block_unique_shard",
            ),
        ),
    ]
