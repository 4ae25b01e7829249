"""Date the last detail-page change of every listing from the snapshots it already has.

Snapshots taken before both sides were kept hold one side, the catalog's (what
shoppers saw), and their digest covers exactly that side, as new snapshots'
digests do: so the last change of digest dates the last change of the detail
page. Whose change it was cannot be told from one side: it stays unknown ("").
Reads digests only, never content (no key is needed).
"""

from django.db import migrations


def date_catalog_changes(apps, schema_editor):
    Listing = apps.get_model("listings", "Listing")
    ListingSnapshot = apps.get_model("listings", "ListingSnapshot")
    changed: dict[int, object] = {}
    previous: dict[int, str] = {}
    rows = (
        ListingSnapshot.objects.order_by("listing_id", "taken_at", "id")
        .values_list("listing_id", "taken_at", "digest")
        .iterator(chunk_size=2000)
    )
    for listing_id, taken_at, digest in rows:
        if listing_id in previous and previous[listing_id] != digest:
            changed[listing_id] = taken_at
        previous[listing_id] = digest
    for listing_id, taken_at in changed.items():
        Listing.objects.filter(pk=listing_id, catalog_changed_at=None).update(
            catalog_changed_at=taken_at
        )


class Migration(migrations.Migration):
    dependencies = [("listings", "0003_listing_catalog_changed_at_and_more")]

    operations = [migrations.RunPython(date_catalog_changes, migrations.RunPython.noop)]
