"""The listings sync against the simulator keeps to the plan's tracked products.

70 products, Starter tracks 50: the first 50 SKUs are tracked and snapshotted,
the other 20 are recorded untracked, and Settings → Amazon says so with the
upgrade link.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from cvrtracker.amazon import client
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.billing.tests.conftest import stripe_server  # noqa: F401 - fixture
from cvrtracker.listings.models import Listing, ListingSnapshot
from cvrtracker.listings.tests.helpers import STARTER_PRODUCTS, PlanTestCase, tracked_skus
from cvrtracker.simulator.testing import SimClient, running_simulator

from .conftest import point_settings_at
from .helpers import connect_seller, counters, run_until_done

PRODUCTS = 70


class CatalogPlanLimitTestCase(PlanTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, settings):
        today = timezone.now().date()
        with running_simulator(asins=PRODUCTS, quota="relaxed", today=today, marketplaces=1) as sim:
            point_settings_at(settings, sim)
            settings.AMAZON_RATELIMIT_STORAGE = "memory"
            settings.AMAZON_BACKFILL_DAYS = 5
            settings.AMAZON_REPORT_DAYS = 5
            self.sim = sim
            self.connection = connect_seller(sim, team=self.team, user=self.alice)
            connection_sync(connection=self.connection)
            yield
        client._http.cache_clear()

    def sync_listings(self) -> int:
        return run_until_done(SyncJob.objects.get(kind=SyncJob.Kind.LISTINGS))

    def first_skus(self, n: int) -> set[str]:
        # The sync asks Amazon for SKUs in ascending order and tracks in that order.
        return set(sorted(p.sku for p in self.sim.world.sellers[0].products)[:n])

    def amazon_page(self) -> str:
        self.client.force_login(self.alice)
        return self.client.get("/amazon/").content.decode()

    def test_products_past_the_limit_are_recorded_untracked_with_a_notice(self):
        self.put_on_starter()
        assert self.sync_listings() == PRODUCTS
        assert Listing.objects.count() == PRODUCTS
        assert tracked_skus() == self.first_skus(STARTER_PRODUCTS)
        snapshots = ListingSnapshot.objects.all()
        assert snapshots.count() == STARTER_PRODUCTS
        assert {s.listing.sku for s in snapshots.select_related("listing")} == tracked_skus()
        untracked = Listing.objects.exclude(tracking=Listing.Tracking.TRACKED)
        assert untracked.count() == PRODUCTS - STARTER_PRODUCTS
        assert all(row.asin and not row.content_enc for row in untracked)
        # Only tracked SKUs are read (by identifier, 20 a call), and catalog data
        # is fetched for their ASINs only: 20, 20 and 10.
        calls = counters(self.sim, self.connection.selling_partner_id)
        assert calls["searchCatalogItems"]["calls"] == 3
        page = self.amazon_page()
        assert "Tracking 50 of 70 products." in page
        assert "20 products are listed but not tracked." in page
        assert "Your Starter plan tracks up to 50 products." in page
        assert '<a href="/billing/">See the plans</a>' in page

    def test_a_second_sync_tracks_the_same_products(self):
        self.put_on_starter()
        self.sync_listings()
        first = dict(Listing.objects.values_list("sku", "tracking"))
        SimClient(self.sim).request("DELETE", "/_sim/counters")
        self.sync_listings()
        assert dict(Listing.objects.values_list("sku", "tracking")) == first
        # Unchanged listings get no second snapshot.
        assert ListingSnapshot.objects.count() == STARTER_PRODUCTS

    def test_after_an_upgrade_the_next_sync_tracks_the_rest(self):
        self.put_on_starter()
        self.sync_listings()
        self.change_plan(pro=True)
        page = self.amazon_page()
        assert "20 more products will be tracked at the next listings sync." in page
        assert "See the plans" not in page
        self.sync_listings()
        assert len(tracked_skus()) == PRODUCTS
        assert ListingSnapshot.objects.count() == PRODUCTS
        assert "Tracking 70 of 70 products." in self.amazon_page()

    def test_after_a_downgrade_nothing_is_untracked(self):
        self.sync_listings()  # the trial tracks all 70
        self.put_on_starter()
        self.sync_listings()
        assert len(tracked_skus()) == PRODUCTS
        assert ListingSnapshot.objects.count() == PRODUCTS
        page = self.amazon_page()
        assert "Tracking 70 of 70 products." in page
        assert "See the plans" not in page
