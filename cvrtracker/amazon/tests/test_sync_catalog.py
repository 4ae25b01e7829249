import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from cvrtracker.amazon.client import AmazonError
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync, sync_job_run
from cvrtracker.amazon.sync.schedule import JobPaused
from cvrtracker.listings.models import InventoryLevel, Listing, ListingSnapshot
from cvrtracker.listings.services import inventory_quantities, listing_content
from cvrtracker.metrics.models import Order
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller, counters, run_until_done


class CatalogSyncTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, settings):
        self.sim, self.settings = sync_sim, settings
        # Every run reads the merchant listings report: these tests are about it (a
        # sweep within the hour skips it: test_listings_sweep_interval.py).
        settings.LISTINGS_DISCOVERY_MINUTES = 0
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        connection_sync(connection=self.connection)
        self.connection.refresh_from_db()

    def run_job(self, kind):
        return run_until_done(SyncJob.objects.get(kind=kind))

    def test_each_listings_run_reads_every_listing_and_snapshots_only_changes(self):
        assert self.run_job("listings") == 5
        products = self.sim.world.sellers[0].products
        assert Listing.objects.count() == 5
        assert ListingSnapshot.objects.count() == 5
        listing = Listing.objects.get(sku=products[0].sku)
        content = listing_content(connection=self.connection, listing=listing)
        assert content["title"] and len(content["bullets"]) == 5 and content["images"]
        # searchCatalogItems was asked once for the page's five ASINs.
        calls = counters(self.sim, self.connection.selling_partner_id)
        assert calls["searchCatalogItems"]["calls"] == 1
        first_reads = dict(Listing.objects.values_list("sku", "content_sync_id"))
        assert self.run_job("listings") == 5
        # Nothing changed on Amazon: every listing was read again, no snapshot stored.
        assert ListingSnapshot.objects.count() == 5
        again = dict(Listing.objects.values_list("sku", "content_sync_id"))
        assert again.keys() == first_reads.keys()
        assert all(again[sku] and again[sku] != first_reads[sku] for sku in again)
        assert SyncJob.objects.get(kind="listings").run_id == ""

    def test_a_resumed_run_keeps_one_snapshot_per_listing(self):
        job = SyncJob.objects.select_related("connection").get(kind="listings")
        job.run_id = "run-1"
        job.save()
        from cvrtracker.amazon.sync.catalog import listings_sync

        while True:
            try:
                listings_sync(job=job)  # a crash right after: the run id stays
                break
            except JobPaused:
                time.sleep(0.2)
                job.refresh_from_db()
        run_until_done(job)
        assert ListingSnapshot.objects.filter(sync_id="run-1").count() == 5
        assert ListingSnapshot.objects.count() == 5

    def test_a_damaged_merchant_report_is_a_clear_error_and_loses_nothing(self):
        self.run_job("listings")
        before = dict(Listing.objects.values_list("sku", "tracking"))
        first_seen = max(Listing.objects.values_list("content_seen_at", flat=True))
        SimClient(self.sim).post(
            "/_sim/faults", json_body={"operation": "getReportDocument", "corrupt_document": True}
        )
        job = SyncJob.objects.get(kind="listings")
        with pytest.raises(AmazonError, match="merchant listings report .* could not be read"):
            run_until_done(job)
        assert dict(Listing.objects.values_list("sku", "tracking")) == before
        assert ListingSnapshot.objects.count() == 5
        # The next attempt asks Amazon for a new report rather than this one again.
        assert "report" not in SyncJob.objects.get(pk=job.pk).cursor
        SimClient(self.sim).request("DELETE", "/_sim/faults")
        assert self.run_job("listings") == 5
        assert ListingSnapshot.objects.count() == 5
        # Read again (by the new run), unchanged.
        assert not Listing.objects.filter(content_seen_at__lte=first_seen).exists()

    def test_inventory_has_fba_details_and_merchant_quantities(self):
        self.run_job("inventory")
        self.run_job("listings")
        products = self.sim.world.sellers[0].products
        for product in products:
            level = InventoryLevel.objects.get(sku=product.sku)
            quantities = inventory_quantities(connection=self.connection, level=level)
            if product.fba:
                assert quantities["fba"]["fulfillable"] is not None
            else:
                assert quantities["mfn_quantity"] is not None
        assert self.connection.__class__.objects.get().inventory_synced_at

    def test_orders_are_fetched_incrementally_by_last_update(self):
        written = self.run_job("orders")
        assert written == Order.objects.count() > 0
        job = SyncJob.objects.get(kind="orders")
        watermark = job.cursor["after"]
        # A recent time on the simulator's clock (which starts at noon UTC of the US
        # marketplace's day, so it runs ahead of the wall clock from 08:00 to 12:00 UTC
        # and behind it otherwise), not the start of history.
        after = datetime.fromisoformat(watermark.replace("Z", "+00:00"))
        assert timedelta(0) <= self.sim.world.clock.now() - after < timedelta(days=2)
        # The next run asks only for what changed since: nothing new, nothing twice.
        SimClient(self.sim).request("DELETE", "/_sim/counters")
        assert self.run_job("orders") == 0
        assert Order.objects.count() == written
        calls = counters(self.sim, self.connection.selling_partner_id)
        assert calls["searchOrders"]["calls"] == 1


class InventoryTokenExpiryTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, settings):
        from cvrtracker.amazon import client
        from cvrtracker.simulator.testing import running_simulator

        from .conftest import point_settings_at

        with running_simulator(
            asins=120, quota="relaxed", today=timezone.now().date(), marketplaces=1
        ) as sim:
            point_settings_at(settings, sim)
            settings.AMAZON_RATELIMIT_STORAGE = "memory"
            self.sim = sim
            self.connection = connect_seller(sim, team=self.team, user=self.alice)
            connection_sync(connection=self.connection)
            yield
        client._http.cache_clear()

    def test_an_expired_next_token_starts_the_marketplace_over(self):
        import threading
        import time

        sim_client = SimClient(self.sim)
        seller_id = self.connection.selling_partner_id
        sim_client.post(
            "/_sim/faults", json_body={"operation": "getInventorySummaries", "latency_ms": 400}
        )

        def expire_the_first_token():
            # Once page 1 is served, 31 simulated seconds pass before page 2 arrives.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                calls = counters(self.sim, seller_id).get("getInventorySummaries", {})
                if calls.get("calls"):
                    sim_client.post("/_sim/clock", json_body={"seconds": 31})
                    return
                time.sleep(0.01)

        thread = threading.Thread(target=expire_the_first_token)
        thread.start()
        job = SyncJob.objects.select_related("connection").get(kind="inventory")
        written = sync_job_run(job=job)
        thread.join()
        fba = [p for p in self.sim.world.sellers[0].products if p.fba]
        assert len(fba) > 50  # two pages
        assert InventoryLevel.objects.count() == len(fba)
        calls = counters(self.sim, seller_id)["getInventorySummaries"]
        assert calls.get("http_400") == 1  # the expired token, once
        # 4 for the US (page 1 stored twice), 1 for Brazil (participating, nothing stocked).
        assert calls["calls"] == 5 and written == len(fba) + 50
