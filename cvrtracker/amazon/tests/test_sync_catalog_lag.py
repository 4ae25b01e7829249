"""The listings sync against a simulator whose detail pages lag the seller's edits.

Each snapshot keeps what the seller submitted and what shoppers saw; a change of
the detail page is dated when a sync first sees it, labelled the seller's own
edit only when it shows what the seller had submitted, and an edit the detail
page has not shown after LISTING_EDIT_LIVE_DAYS is flagged on the products page.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from cvrtracker.amazon.marketplaces import marketplace_day
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.listings.models import Listing, ListingSnapshot
from cvrtracker.listings.services import snapshot_content
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller, run_until_done


class CatalogLagSyncTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim):
        self.sim = sync_sim
        self.sim_client = SimClient(sync_sim)
        self.seller = sync_sim.world.sellers[0]
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        connection_sync(connection=self.connection)
        # Product 4 has no scripted content change.
        self.product = self.seller.products[4]

    def setUp(self):
        super().setUp()
        # The first snapshot, taken inside the test's transaction (not the fixture's).
        self.sync()

    def sync(self) -> Listing:
        run_until_done(SyncJob.objects.get(kind=SyncJob.Kind.LISTINGS))
        return Listing.objects.get(sku=self.product.sku)

    def change(self, **body) -> dict:
        answer = self.sim_client.post(
            f"/_sim/sellers/{self.seller.id}/listings/{self.product.sku}", json_body=body
        )
        assert answer.status == 200, answer.body
        return answer.json()

    def advance_sim(self, **amount) -> None:
        self.sim_client.post("/_sim/clock", json_body=amount)

    def latest_content(self, listing: Listing) -> dict:
        snapshot = listing.snapshots.order_by("-taken_at", "-id").first()
        return snapshot_content(connection=self.connection, snapshot=snapshot)

    def test_the_seller_edit_is_their_own_once_the_detail_page_shows_it(self):
        first = Listing.objects.get(sku=self.product.sku)
        old_title = self.latest_content(first)["title"]
        assert first.catalog_changed_at is None
        self.change(field="title", value="Seller's New Title", catalogDelaySeconds=86400)
        pending = self.sync()
        content = self.latest_content(pending)
        # Both sides: the seller's at once, the shoppers' still the old one.
        assert content["seller"]["title"] == "Seller's New Title"
        assert content["title"] == old_title
        assert pending.pending_fields == ["title"] and pending.edit_pending_since
        assert pending.catalog_changed_at is None
        # Only the seller's side moved: the content digest (the detail page) did not.
        digests = list(
            pending.snapshots.order_by("taken_at", "id").values_list("digest", flat=True)
        )
        assert digests[0] == digests[1]
        self.advance_sim(seconds=86400)
        live = self.sync()
        assert self.latest_content(live)["title"] == "Seller's New Title"
        assert live.catalog_changed_by == Listing.ChangedBy.SELLER
        assert live.catalog_changed_at == live.snapshots.order_by("-taken_at").first().taken_at
        assert live.pending_fields == [] and live.edit_pending_since is None
        assert not live.edit_not_live(timezone.now() + timedelta(days=30))

    def test_an_edit_that_never_goes_live_is_flagged_after_the_days_set(self):
        self.change(field="image", variant="MAIN", loses=True)
        listing = self.sync()
        assert listing.pending_fields == ["images"]
        self.advance_sim(days=4)
        listing = self.sync()
        assert listing.pending_fields == ["images"]
        assert listing.catalog_changed_at is None
        since = listing.edit_pending_since
        assert not listing.edit_not_live(since + timedelta(days=2, hours=23))
        assert listing.edit_not_live(since + timedelta(days=3))
        with time_machine.travel(since + timedelta(days=3, minutes=1), tick=False):
            self.client.force_login(self.alice)
            page = self.client.get(f"/amazon/{self.connection.code}/products/")
        # Dated on the marketplace's own calendar (Pacific time for the US).
        day = marketplace_day(listing.marketplace_id, since)
        self.assertContains(
            page, f"Your edit of {day.day} {day:%b} is not live on the detail page yet."
        )

    def test_a_change_by_another_contributor_is_not_labelled_the_sellers(self):
        self.change(field="title", value="Amazon's Own Title", by="contributor")
        listing = self.sync()
        content = self.latest_content(listing)
        assert content["title"] == "Amazon's Own Title"
        assert content["seller"]["title"] != "Amazon's Own Title"
        assert listing.catalog_changed_by == Listing.ChangedBy.OTHER
        assert listing.catalog_changed_at is not None
        assert listing.pending_fields == []

    def test_a_seller_edit_and_an_unrelated_catalog_change_are_told_apart(self):
        self.change(field="description", value="Seller's description", catalogDelaySeconds=3600)
        self.sync()
        self.advance_sim(seconds=3600)
        self.change(field="title", value="Someone Else's Title", by="contributor")
        listing = self.sync()
        # Two fields changed on the detail page, only one of them the seller's.
        assert listing.catalog_changed_by == Listing.ChangedBy.OTHER
        assert listing.pending_fields == []
        assert ListingSnapshot.objects.filter(listing=listing).count() == 3
