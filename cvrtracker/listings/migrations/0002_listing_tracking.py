from django.db import migrations, models

TRACKING = [
    ("tracked", "Tracked"),
    ("over_limit", "Not tracked: plan limit"),
    ("stopped", "Not tracked"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("amazon", "0002_sync_schedule"),
        ("listings", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="listing",
            name="title_enc",
            field=models.BinaryField(null=True),
        ),
        # Every listing synced before plan limits existed was snapshotted, so it
        # is tracked: over a limit, existing rows stay. New rows start untracked.
        migrations.AddField(
            model_name="listing",
            name="tracking",
            field=models.CharField(choices=TRACKING, default="tracked", max_length=12),
        ),
        migrations.AlterField(
            model_name="listing",
            name="tracking",
            field=models.CharField(choices=TRACKING, default="over_limit", max_length=12),
        ),
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(fields=["connection", "tracking"], name="listings_listing_tracking"),
        ),
    ]
