"""The data migration that keeps one snapshot per run of equal content."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

from django.apps import apps

from cvrtracker.listings.models import Listing, ListingSnapshot
from cvrtracker.listings.tests.helpers import make_connection
from cvrtracker.test import BaseTestCase

migration = importlib.import_module(
    "cvrtracker.listings.migrations.0006_collapse_unchanged_snapshots"
)
T0 = datetime(2026, 10, 1, 12, tzinfo=UTC)


class CollapseSnapshotsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, "A1SELLER")

    def listing(self, sku: str, digests: list[tuple[str, str]]) -> Listing:
        listing = Listing.objects.create(
            connection=self.connection, marketplace_id="ATVPDKIKX0DER", sku=sku, content_enc=b""
        )
        for hour, (digest, seller_digest) in enumerate(digests):
            ListingSnapshot.objects.create(
                listing=listing,
                sync_id=f"run-{hour}",
                taken_at=T0 + timedelta(hours=hour),
                content_enc=b"",
                digest=digest,
                seller_digest=seller_digest,
            )
        return listing

    def kept(self, listing: Listing) -> list[str]:
        return list(listing.snapshots.order_by("taken_at").values_list("sync_id", flat=True))

    def test_it_keeps_the_first_snapshot_of_each_run_and_the_last_read(self):
        changed = self.listing("A", [("x", ""), ("x", ""), ("y", ""), ("y", ""), ("x", "")])
        settled = self.listing("B", [("x", "s"), ("x", "s"), ("x", "s")])
        seller_only = self.listing("C", [("x", ""), ("x", "s"), ("x", "s"), ("x", "t")])
        never = self.listing("D", [])
        migration.collapse_unchanged_snapshots(apps, None)
        assert self.kept(changed) == ["run-0", "run-2", "run-4"]
        assert self.kept(settled) == ["run-0"]
        # A change of the seller's side alone is a change of snapshot too.
        assert self.kept(seller_only) == ["run-0", "run-1", "run-3"]
        settled.refresh_from_db()
        # Last seen unchanged at the last snapshot of the run, not its first.
        assert (settled.content_sync_id, settled.content_seen_at) == (
            "run-2",
            T0 + timedelta(hours=2),
        )
        changed.refresh_from_db()
        assert changed.content_seen_at == T0 + timedelta(hours=4)
        never.refresh_from_db()
        assert (never.content_sync_id, never.content_seen_at) == ("", None)

    def test_it_works_in_chunks(self):
        listings = [self.listing(f"S{n}", [("x", "")] * 3) for n in range(5)]
        original, migration.CHUNK = migration.CHUNK, 2
        try:
            migration.collapse_unchanged_snapshots(apps, None)
        finally:
            migration.CHUNK = original
        assert ListingSnapshot.objects.count() == 5
        assert all(Listing.objects.get(pk=row.pk).content_sync_id == "run-2" for row in listings)
