"""The replay command: the simulator's past days lived through by the real sync, a day at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cvrtracker.amazon import client
from cvrtracker.amazon.marketplaces import marketplace_day
from cvrtracker.amazon.models import DataKioskQuery, SalesTrafficDay, SellerConnection, SyncJob
from cvrtracker.amazon.ratelimit import memory_reset
from cvrtracker.lib import clock
from cvrtracker.listings.models import Listing, ListingSnapshot
from cvrtracker.listings.services import snapshot_content
from cvrtracker.simulator.testing import TEST_TODAY, SimClient, running_simulator
from cvrtracker.test import BaseTestCase

from .conftest import point_settings_at
from .helpers import connect_seller

US = "ATVPDKIKX0DER"
DAYS = 14


def replay_settings(settings, sim) -> None:
    point_settings_at(settings, sim)
    settings.AMAZON_RATELIMIT_STORAGE = "memory"
    settings.AMAZON_REPORT_POLL_SECONDS = 0.2
    memory_reset()


@pytest.fixture
def past_sim(settings):
    """A 20-product, US-only world whose clock starts 14 days before its present, and
    the tracker's clock bound to it."""
    with (
        running_simulator(
            asins=20, marketplaces=1, start_days_ago=DAYS, st_budget=False, quota="relaxed"
        ) as server,
        clock.following(server.world.clock.now),
    ):
        replay_settings(settings, server)
        yield server
    client._http.cache_clear()


class ReplayTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, past_sim):
        self.sim = past_sim
        self.connection = connect_seller(past_sim, team=self.team, user=self.alice)

    def replay(self, **options) -> str:
        out = StringIO()
        call_command("amazon_replay", stdout=out, verbosity=2, **options)
        return out.getvalue()

    def test_it_syncs_late_in_each_day_and_stops_at_the_present(self):
        world = self.sim.world
        out = self.replay()
        # The clock has caught up: it is at its present, not past it.
        present = world.clock.present()
        assert abs((world.clock.now() - present).total_seconds()) < 5
        assert abs((clock.now() - present).total_seconds()) < 5
        lines = [line for line in out.splitlines() if ": synced at " in line]
        days = [line.split(":", 1)[0] for line in lines]
        first = TEST_TODAY - timedelta(days=DAYS)
        assert days == [str(first + timedelta(days=n)) for n in range(DAYS)]
        # Each day's sync ran late in that day, in the US (Brazil, listed as participating,
        # is in the first day's set until the listings run finds nothing there).
        for line, day in zip(lines[1:], days[1:], strict=True):
            at = datetime.strptime(line.split("synced at ")[1][:16], "%Y-%m-%d %H:%M")
            local = at.replace(tzinfo=UTC)
            assert str(marketplace_day(US, local)) == day
            assert str(marketplace_day(US, local + timedelta(minutes=31))) != day
        assert f"Replayed {DAYS} days" in out
        # The last run was the last evening's; the scheduler takes over from there.
        listings = SyncJob.objects.get(connection=self.connection, kind=SyncJob.Kind.LISTINGS)
        assert str(marketplace_day(US, listings.last_success_at)) == days[-1]
        assert listings.next_run_at > present - timedelta(minutes=1)
        assert Listing.objects.filter(connection=self.connection).count() == 20

    def test_the_history_holds_a_change_on_the_day_it_was_made(self):
        # Product 8's first bullet is rewritten 8 days before the present (scenarios.SCRIPT).
        self.replay()
        product = self.sim.world.sellers[0].products[8]
        change = next(c for c in product.changes if c.field == "bullet:0")
        listing = Listing.objects.get(connection=self.connection, sku=product.sku)
        snapshots = list(ListingSnapshot.objects.filter(listing=listing).order_by("taken_at"))
        changed_day = marketplace_day(US, change.catalog_at)
        before = [s for s in snapshots if marketplace_day(US, s.taken_at) < changed_day]
        after = [s for s in snapshots if marketplace_day(US, s.taken_at) == changed_day]
        assert before and after

        def first_bullet(snapshot):
            return snapshot_content(connection=self.connection, snapshot=snapshot)["bullets"][0]

        assert first_bullet(before[-1]) == change.old
        assert first_bullet(after[0]) == change.value

    def test_metrics_are_planned_once_at_the_present(self):
        self.replay()
        present_day = marketplace_day(US, clock.now())
        # Data Kiosk's two years end yesterday, not on the first replayed day.
        ends = set(DataKioskQuery.objects.values_list("end_day", flat=True))
        assert ends == {present_day - timedelta(days=1)}
        newest = SalesTrafficDay.objects.order_by("-day").first()
        assert newest.day == present_day - timedelta(days=1)

    def test_a_second_replay_has_nothing_left_to_do(self):
        self.replay()
        out = self.replay()
        assert "nothing to replay" in out

    def test_it_replays_only_the_last_days_asked_for(self):
        out = self.replay(days=3)
        assert "Replayed 3 days" in out

    def test_it_starts_after_the_last_sync_of_a_connection(self):
        # A tracker that synced later than the (restarted) simulator's clock is not
        # taken back in time: the replay starts from its last sync.
        later = self.sim.world.clock.now() + timedelta(days=10, hours=1)
        SellerConnection.objects.filter(pk=self.connection.pk).update(listings_synced_at=later)
        out = self.replay()
        assert "Replayed 4 days" in out


class ReplayRefusalTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, past_sim, settings):
        self.sim, self.settings = past_sim, settings
        connect_seller(past_sim, team=self.team, user=self.alice)

    def test_it_refuses_production_settings(self):
        self.settings.AMAZON_PRODUCTION = True
        with pytest.raises(CommandError, match="never runs against Amazon"):
            call_command("amazon_replay", stdout=StringIO())
        assert SimClient(self.sim).get("/_sim/clock").json()["behindSeconds"] > 86400

    def test_it_refuses_an_amazon_url_off_this_machine(self):
        self.settings.AMAZON_SPAPI_URLS = {
            **self.settings.AMAZON_SPAPI_URLS,
            "EU": "https://sellingpartnerapi-eu.amazon.com",
        }
        with pytest.raises(CommandError, match="not a simulator on this machine"):
            call_command("amazon_replay", stdout=StringIO())

    def test_it_refuses_a_tracker_on_the_system_clock(self):
        self.settings.TRACKER_CLOCK = "system"
        with clock.following(None), pytest.raises(CommandError, match="TRACKER_CLOCK"):
            call_command("amazon_replay", stdout=StringIO())
