import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from cvrtracker.amazon.models import LISTED_AT, SellerConnection, SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.amazon.sync.schedule import listings_sweep_interval, listings_sweep_words
from cvrtracker.listings.models import Listing, ListingSnapshot
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller, counters, run_until_done
from .test_settings_page import make_connection

ROOT = Path(__file__).resolve().parents[3]


def load_settings(value: str | None) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter with LISTINGS_SWEEP_MINUTES=`value`."""
    env = {k: v for k, v in os.environ.items() if k != "LISTINGS_SWEEP_MINUTES"}
    if value is not None:
        env["LISTINGS_SWEEP_MINUTES"] = value
    code = "import cvrtracker.settings as s; print(s.LISTINGS_SWEEP_MINUTES)"
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_the_sweep_comes_every_five_minutes_by_default():
    assert load_settings(None).stdout.strip() == "5"


def test_a_valid_value_is_taken():
    assert load_settings("90").stdout.strip() == "90"


@pytest.mark.parametrize("value", ["abc", "0", "-60", "4", "1441", "1.5", ""])
def test_nonsense_stops_the_start_with_a_clear_error(value):
    answer = load_settings(value)
    assert answer.returncode != 0
    assert "ImproperlyConfigured: LISTINGS_SWEEP_MINUTES must be a whole number" in answer.stderr
    assert repr(value) in answer.stderr


class SweepIntervalTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, settings):
        self.sim, self.settings = sync_sim, settings
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        connection_sync(connection=self.connection)

    def test_the_next_sweep_is_due_the_setting_after_the_last_one(self):
        self.settings.LISTINGS_SWEEP_MINUTES = 90
        before = timezone.now()
        run_until_done(SyncJob.objects.get(kind="listings"))
        job = SyncJob.objects.get(kind="listings")
        after = job.last_success_at
        assert before <= after
        assert job.next_run_at == after + timedelta(minutes=90)
        # The other kinds keep their own intervals.
        run_until_done(SyncJob.objects.get(kind="inventory"))
        inventory = SyncJob.objects.get(kind="inventory")
        assert inventory.next_run_at == inventory.last_success_at + timedelta(hours=1)


class SettingsPageSweepTestCase(BaseTestCase):
    def test_it_says_how_often_listings_are_read(self):
        make_connection(self.team, "A1ALICE")
        self.client.force_login(self.alice)
        response = self.client.get("/amazon/")
        self.assertContains(response, "Tracked listings are read every 5 minutes")
        with self.settings(LISTINGS_SWEEP_MINUTES=60):
            self.assertContains(self.client.get("/amazon/"), "read every hour")
        with self.settings(LISTINGS_SWEEP_MINUTES=90):
            self.assertContains(self.client.get("/amazon/"), "read every 90 minutes")
        with self.settings(LISTINGS_SWEEP_MINUTES=180):
            self.assertContains(self.client.get("/amazon/"), "read every 3 hours")


def test_a_big_catalogue_sweeps_further_apart_to_keep_the_catalog_quota_share(settings):
    settings.LISTINGS_SWEEP_MINUTES = 5
    settings.LISTINGS_SWEEP_QUOTA_SHARE = 0.2
    # 1,000 listings: 50 catalog calls, 25 s of the 2/s quota, 125 s at 20%: 5 min wins.
    assert listings_sweep_interval(1_000) == timedelta(minutes=5)
    # 10,000: 250 s of quota, 1,250 s at 20%.
    assert listings_sweep_interval(10_000) == timedelta(seconds=1_250)
    assert listings_sweep_words(10_000) == "21 minutes"


class DiscoveryTestCase(BaseTestCase):
    """The merchant listings report (discovery) is asked for hourly, not every sweep."""

    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, settings):
        self.sim, self.settings = sync_sim, settings
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        connection_sync(connection=self.connection)

    def reports(self) -> int:
        return counters(self.sim, self.connection.selling_partner_id)["createReport"]["calls"]

    def sweep(self) -> None:
        job = SyncJob.objects.get(kind="listings")
        SyncJob.objects.filter(pk=job.pk).update(next_run_at=timezone.now())
        run_until_done(SyncJob.objects.get(kind="listings"))

    def test_a_sweep_within_the_hour_reads_the_known_listings_without_a_report(self):
        self.settings.LISTINGS_DISCOVERY_MINUTES = 60
        self.sweep()
        first = self.reports()
        snapshots = ListingSnapshot.objects.count()
        assert first >= 1 and snapshots > 0
        self.sweep()
        # No new report, and every tracked listing was read again (one snapshot each
        # per run only when changed, so look at the listings' last read instead).
        assert self.reports() == first
        tracked = Listing.objects.filter(tracking=Listing.Tracking.TRACKED)
        job = SyncJob.objects.get(kind="listings")
        assert all(
            row.content_seen_at >= job.last_success_at - timedelta(minutes=1) for row in tracked
        )

    def test_after_the_discovery_interval_the_report_is_asked_for_again(self):
        self.settings.LISTINGS_DISCOVERY_MINUTES = 60
        self.sweep()
        first = self.reports()
        # The last report was read 61 minutes ago.
        row = SellerConnection.objects.get(pk=self.connection.pk)
        for market in row.marketplaces:
            if market.get(LISTED_AT):
                read = datetime.fromisoformat(market[LISTED_AT])
                market[LISTED_AT] = (read - timedelta(minutes=61)).isoformat()
        row.save(update_fields=["marketplaces"])
        self.sweep()
        assert self.reports() > first
