"""The sync derives the listing history from the metrics it stores: after Data Kiosk's
two years and after each Sales & Traffic day, against the real simulator."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import LISTED, DataKioskQuery, SellerConnection
from cvrtracker.amazon.services import connection_sync_marketplaces
from cvrtracker.amazon.sync import datakiosk as dk
from cvrtracker.amazon.sync.sales_traffic import sales_traffic_plan
from cvrtracker.listings.models import Listing, ListingChange
from cvrtracker.test import BaseTestCase

from .conftest import synced_simulator
from .helpers import all_reports_finished, connect_seller, drain

US = "ATVPDKIKX0DER"


@pytest.fixture
def story_sim(settings):
    """synced_simulator with the first eight products: the price cut (3), the stock-out (4)
    and the lost Buy Box (5) among them."""
    with synced_simulator(settings, asins=8) as server:
        yield server


@pytest.mark.slow
class SyncDerivesChangesTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, story_sim, settings):
        self.sim, self.settings = story_sim, settings
        settings.AMAZON_BACKFILL_DAYS = 730
        settings.AMAZON_DATAKIOSK_POLL_SECONDS = 0.2
        self.connection = connect_seller(story_sim, team=self.team, user=self.alice)
        connection_sync_marketplaces(connection=self.connection)
        SellerConnection.objects.filter(pk=self.connection.pk).update(next_sync_at=None)
        self.connection.refresh_from_db()
        self.products = story_sim.world.sellers[0].products
        Listing.objects.bulk_create(
            [
                Listing(
                    connection=self.connection,
                    marketplace_id=US,
                    sku=p.sku,
                    asin=p.asin,
                    content_enc=b"",
                )
                for p in self.products
            ]
        )
        self.connection.marketplaces = [
            {**m, LISTED: len(self.products) if m["id"] == US else 0}
            for m in self.connection.marketplaces
        ]
        self.connection.save(update_fields=["marketplaces"])

    def history(self) -> set[tuple]:
        by_asin = {p.asin: p.index for p in self.products}
        today = marketplace_today(US)
        return {
            (by_asin[c.asin], c.field, c.source, (today - c.day).days)
            for c in ListingChange.objects.filter(connection=self.connection)
        }

    def test_the_backfill_and_each_report_day_leave_the_stories_on_the_history(self):
        assert dk.datakiosk_plan(connection=self.connection) == 2  # by-date + one chunk

        def settled():
            return not DataKioskQuery.objects.exclude(status=DataKioskQuery.Status.DONE).exists()

        drain(self, settled, timeout=120)
        # The price cut shows in the sales from its first day with a sale.
        world, today = self.sim.world, marketplace_today(US)
        cut = today - timedelta(days=40)
        seller = world.sellers[0]
        while not world.day_stats(seller, self.products[3], cut, seller.home, today).units:
            cut += timedelta(days=1)
        stories = {
            (3, "price", "inferred", (today - cut).days),
            (4, "stock_out", "derived", 25),
            (4, "stock_out", "derived", 15),
            (5, "buy_box", "derived", 12),
            (5, "buy_box", "derived", 5),
        }
        assert self.history() == stories
        # Each listing carries its own events.
        change = ListingChange.objects.get(field="price")
        assert change.listing.asin == change.asin == self.products[3].asin

        # A report day derives the whole marketplace again: what went missing comes back,
        # and nothing is stored twice.
        ListingChange.objects.filter(field="buy_box").delete()
        sales_traffic_plan(connection=self.connection)
        drain(self, all_reports_finished, timeout=120)
        assert self.history() == stories
        assert ListingChange.objects.count() == 5
        assert ListingChange.objects.filter(day__gte=marketplace_today(US) - timedelta(days=5))
