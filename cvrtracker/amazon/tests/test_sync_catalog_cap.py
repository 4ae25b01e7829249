"""A seller with more than 1,000 listings: searchListingsItems stops at 1,000 SKUs
(the Listings Items model), so the sync takes every SKU from the merchant
listings report and reads tracked ones by identifier.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from cvrtracker.amazon import client
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.services import connection_client
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.billing.tests.conftest import stripe_server  # noqa: F401 - fixture
from cvrtracker.listings.models import InventoryLevel, Listing, ListingSnapshot
from cvrtracker.listings.services import listing_tracking_set
from cvrtracker.listings.tests.helpers import STARTER_PRODUCTS, PlanTestCase, tracked_skus
from cvrtracker.simulator.testing import SimClient, running_simulator

from .conftest import point_settings_at
from .helpers import connect_seller, counters, run_until_done

PRODUCTS = 1210
MARKET = "ATVPDKIKX0DER"


class CatalogCapTestCase(PlanTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, settings):
        today = timezone.now().date()
        with running_simulator(asins=PRODUCTS, quota="relaxed", today=today, marketplaces=1) as sim:
            point_settings_at(settings, sim)
            settings.AMAZON_RATELIMIT_STORAGE = "memory"
            # Every run reads the merchant listings report (test_listings_sweep_interval.py).
            settings.LISTINGS_DISCOVERY_MINUTES = 0
            settings.AMAZON_BACKFILL_DAYS = 5
            settings.AMAZON_REPORT_POLL_SECONDS = 0.2
            self.sim = sim
            yield
        client._http.cache_clear()

    def setUp(self):
        super().setUp()
        self.connection = connect_seller(self.sim, team=self.team, user=self.alice)
        connection_sync(connection=self.connection)
        self.skus = sorted(p.sku for p in self.sim.world.sellers[0].products)

    def sync_listings(self) -> int:
        return run_until_done(SyncJob.objects.get(kind=SyncJob.Kind.LISTINGS), timeout=120)

    def test_the_simulator_stops_an_unfiltered_search_at_1000_skus(self):
        # What the sync did before: page through one search. Amazon stops at 1,000.
        api = connection_client(connection=self.connection)
        seen, token = [], None
        while True:
            page = api.search_listings_items(
                seller_id=self.connection.selling_partner_id,
                marketplace_id=MARKET,
                included_data=["summaries"],
                page_token=token,
            )
            assert page["numberOfResults"] == PRODUCTS
            seen += [item["sku"] for item in page["items"]]
            token = (page.get("pagination") or {}).get("nextToken")
            if not token:
                break
        assert seen == self.skus[:1000]

    def test_every_listing_is_recorded_and_tracked_ones_past_the_1000th_are_read(self):
        self.put_on_starter()
        assert self.sync_listings() == PRODUCTS
        assert Listing.objects.count() == PRODUCTS
        assert tracked_skus() == set(self.skus[:STARTER_PRODUCTS])
        assert ListingSnapshot.objects.count() == STARTER_PRODUCTS
        # Untracked listings past the 1,000th have their ASIN, title and MFN stock too.
        last = Listing.objects.get(sku=self.skus[-1])
        assert last.asin and last.title_enc and not last.content_enc
        mfn = [p.sku for p in self.sim.world.sellers[0].products if not p.fba]
        assert InventoryLevel.objects.filter(sku__in=mfn).count() == len(mfn)
        # The seller swaps three tracked products for three past the 1,000th SKU.
        for sku in self.skus[:3]:
            listing_tracking_set(
                listing=Listing.objects.get(sku=sku), tracked=False, actor=self.alice
            )
        for sku in self.skus[-3:]:
            listing_tracking_set(
                listing=Listing.objects.get(sku=sku), tracked=True, actor=self.alice
            )
        SimClient(self.sim).request("DELETE", "/_sim/counters")
        self.sync_listings()
        for sku in self.skus[-3:]:
            assert ListingSnapshot.objects.filter(listing__sku=sku).count() == 1
        calls = counters(self.sim, self.connection.selling_partner_id)
        # 50 tracked SKUs, read 20 at a time by identifier; one report per run.
        assert calls["searchListingsItems"]["calls"] == 3
        # One report per run (Brazil, listed as participating but never opened, refuses it).
        assert calls["createReport"]["http_202"] == 1
