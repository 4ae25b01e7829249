"""Keep one snapshot per run of equal content: a snapshot is now stored only on change.

Every sync used to store a snapshot of every tracked listing. For each listing,
in time order, a snapshot whose digests (what shoppers saw and what the seller
submitted) equal the one before it is deleted: the first of each run stays,
dated when that content was first seen. The listing keeps its latest read in
content_sync_id / content_seen_at (the last snapshot before the collapse), so
the next change is dated from when the content was last seen unchanged.
Reads digests only, never content (no key is needed); one listing at a time, so
a table of millions of rows never sits in memory.
"""

from django.db import migrations

# Rows deleted, and listings updated, per statement.
CHUNK = 1000


def collapse_unchanged_snapshots(apps, schema_editor):
    Listing = apps.get_model("listings", "Listing")
    ListingSnapshot = apps.get_model("listings", "ListingSnapshot")
    # Read before any row is deleted: no cursor stays open on a table being changed.
    listing_ids = list(
        ListingSnapshot.objects.order_by("listing_id")
        .values_list("listing_id", flat=True)
        .distinct()
    )
    doomed: list[int] = []
    seen: list = []
    for listing_id in listing_ids:
        rows = ListingSnapshot.objects.filter(listing_id=listing_id).order_by("taken_at", "id")
        previous = last = None
        for pk, sync_id, taken_at, digest, seller_digest in rows.values_list(
            "id", "sync_id", "taken_at", "digest", "seller_digest"
        ):
            if (digest, seller_digest) == previous:
                doomed.append(pk)
            previous, last = (digest, seller_digest), (sync_id, taken_at)
        seen.append(Listing(pk=listing_id, content_sync_id=last[0], content_seen_at=last[1]))
        if len(doomed) >= CHUNK:
            ListingSnapshot.objects.filter(pk__in=doomed).delete()
            doomed.clear()
        if len(seen) >= CHUNK:
            Listing.objects.bulk_update(seen, ["content_sync_id", "content_seen_at"])
            seen.clear()
    if doomed:
        ListingSnapshot.objects.filter(pk__in=doomed).delete()
    if seen:
        Listing.objects.bulk_update(seen, ["content_sync_id", "content_seen_at"])


class Migration(migrations.Migration):
    dependencies = [("listings", "0005_listing_changes")]

    operations = [migrations.RunPython(collapse_unchanged_snapshots, migrations.RunPython.noop)]
