"""The tracker's clock follows the simulator's: a jump moves its days and makes syncs due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cvrtracker.amazon import client
from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.sync.scheduler import schedule_due
from cvrtracker.lib import clock
from cvrtracker.simulator.testing import TEST_TODAY, SimClient, running_simulator
from cvrtracker.test import BaseTestCase

from .conftest import point_settings_at
from .helpers import connect_seller

US = "ATVPDKIKX0DER"


@pytest.fixture
def following_sim(settings):
    """A simulator 30 days behind its present, and TRACKER_CLOCK=simulator pointed at it."""
    with running_simulator(asins=5, marketplaces=1, start_days_ago=30) as server:
        point_settings_at(settings, server)
        settings.TRACKER_CLOCK = "simulator"
        settings.TRACKER_CLOCK_CACHE_SECONDS = 60
        clock.forget()
        yield server
        clock.forget()
    client._http.cache_clear()


def close(a, b, seconds: float = 2.0) -> bool:
    return abs((a - b).total_seconds()) < seconds


def test_it_reads_the_simulators_clock(following_sim):
    world = following_sim.world
    assert world.clock.now().date() == TEST_TODAY - timedelta(days=30)
    assert close(clock.now(), world.clock.now())
    assert marketplace_today(US) == TEST_TODAY - timedelta(days=30)


def test_a_jump_moves_now_and_the_marketplace_day(following_sim):
    before = clock.now()
    SimClient(following_sim).post("/_sim/clock", json_body={"days": 3})
    # Read again at most once per TRACKER_CLOCK_CACHE_SECONDS: 60 here, so not yet...
    assert close(clock.now(), before)
    # ...and at once after forget() (the replay's way), or when the cache runs out.
    clock.forget()
    assert close(clock.now(), before + timedelta(days=3))
    assert marketplace_today(US) == TEST_TODAY - timedelta(days=27)


def test_a_simulator_gone_leaves_the_last_offset(following_sim, settings):
    moved = clock.now()
    settings.AMAZON_SPAPI_URLS = {**settings.AMAZON_SPAPI_URLS, "NA": "https://127.0.0.1:9"}
    clock.forget()
    assert close(clock.now(), moved)


def test_production_never_follows_a_simulator(following_sim, settings):
    settings.AMAZON_PRODUCTION = True
    assert not clock.follows_simulator()
    assert close(clock.now(), timezone.now())


def test_the_system_clock_is_the_default(settings):
    settings.TRACKER_CLOCK = "system"
    assert not clock.follows_simulator()


class SchedulerClockTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, following_sim):
        self.sim = following_sim
        self.connection = connect_seller(following_sim, team=self.team, user=self.alice)

    def test_a_jump_makes_the_daily_sync_due(self):
        # Connected at the simulator's time: due now, then tomorrow once synced.
        assert close(self.connection.next_sync_at, self.sim.world.clock.now(), 5)
        tomorrow = clock.now() + timedelta(days=1)
        SellerConnection.objects.filter(pk=self.connection.pk).update(next_sync_at=tomorrow)
        with self.captureOnCommitCallbacks():
            assert schedule_due() == 0
        SimClient(self.sim).post("/_sim/clock", json_body={"days": 1, "seconds": 60})
        clock.forget()
        with self.captureOnCommitCallbacks() as queued:
            assert schedule_due() == 1
        assert len(queued) == 1
        # The claim's lease is set on the same clock, 29 days behind the system's.
        claimed = SellerConnection.objects.get(pk=self.connection.pk).next_sync_at
        assert claimed.date() == TEST_TODAY - timedelta(days=29)
