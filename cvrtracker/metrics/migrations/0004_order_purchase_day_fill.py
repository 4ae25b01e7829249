"""Date the orders stored before purchase_day existed in their marketplace's day."""

from django.db import migrations

from cvrtracker.amazon.marketplaces import marketplace_day


def fill(apps, schema_editor):
    Order = apps.get_model("metrics", "Order")
    pending = Order.objects.filter(purchase_day=None).only("pk", "marketplace_id", "created_time")
    batch = []
    for order in pending.iterator(chunk_size=2000):
        order.purchase_day = marketplace_day(order.marketplace_id, order.created_time)
        batch.append(order)
        if len(batch) == 2000:
            Order.objects.bulk_update(batch, ["purchase_day"])
            batch = []
    Order.objects.bulk_update(batch, ["purchase_day"])


class Migration(migrations.Migration):
    dependencies = [("metrics", "0003_order_purchase_day")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
