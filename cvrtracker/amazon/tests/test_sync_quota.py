"""Amazon's real usage plans: a 429 storm loses nothing and calls never exceed the quota."""

import time

import pytest
from django.utils import timezone

from cvrtracker.amazon import client
from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import SalesTrafficDay
from cvrtracker.amazon.ratelimit import USAGE_PLANS, memory_reset
from cvrtracker.amazon.tests.conftest import fast_budget, point_settings_at
from cvrtracker.simulator.testing import SimClient, running_simulator
from cvrtracker.test import BaseTestCase

from .helpers import all_jobs_succeeded, all_reports_finished, connect_seller, counters, drain


@pytest.mark.slow
class RealQuotaTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, settings):
        today = marketplace_today("ATVPDKIKX0DER")
        with running_simulator(
            asins=5, quota="real", today=today, st_budget=False, marketplaces=1
        ) as server:
            point_settings_at(settings, server)
            settings.TASKS = {
                "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}
            }
            settings.AMAZON_BACKFILL_DAYS = 4
            settings.AMAZON_REPORT_DAYS = 4
            # The range report on connect goes too; the jobs need not wait for it here.
            settings.AMAZON_QUICK_TOTALS_HOLD_SECONDS = 0
            memory_reset()
            fast_budget(settings)  # the generic createReport bucket is the one under test
            settings.AMAZON_ORDERS_INITIAL_DAYS = 1
            settings.AMAZON_REPORT_POLL_SECONDS = 2
            settings.AMAZON_RATELIMIT_STORAGE = "memory"
            settings.AMAZON_RETRY_ATTEMPTS = 10
            settings.AMAZON_RETRY_INITIAL_SECONDS = 0.2
            settings.AMAZON_RETRY_MAX_SECONDS = 2
            self.sim = server
            yield
        client._http.cache_clear()

    def test_a_429_storm_completes_the_data_without_exceeding_any_quota(self):
        connection = connect_seller(self.sim, team=self.team, user=self.alice)
        SimClient(self.sim).post(
            "/_sim/faults", json_body={"operation": "*", "throttle_ratio": 0.5}
        )
        started = time.monotonic()

        def finished():
            # Failed steps back off for 30 s and more: bring them back now.
            SalesTrafficDay.objects.filter(next_attempt_at__gt=timezone.now()).exclude(
                status="requested"
            ).update(next_attempt_at=timezone.now())
            return all_reports_finished() and all_jobs_succeeded()

        drain(self, finished, timeout=120)
        elapsed = time.monotonic() - started + 1
        assert SalesTrafficDay.objects.filter(kind="day", status="done").count() == 4
        # And the range totals asked on connect (Brazil's, never opened, was given up).
        assert SalesTrafficDay.objects.filter(kind="range", status="done").count() == 1
        calls = counters(self.sim, connection.selling_partner_id)
        assert sum(op.get("throttled", 0) for op in calls.values()) > 0
        for operation, seen in calls.items():
            rate, burst = USAGE_PLANS[operation]
            # Every call that reached Amazon, 429s included, fits the usage plan.
            assert seen["calls"] <= burst + rate * elapsed, (operation, seen, elapsed)
