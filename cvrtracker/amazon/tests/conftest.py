"""Amazon tests talk to the simulator on loopback, never to Amazon."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from cvrtracker.amazon import client
from cvrtracker.amazon.ratelimit import memory_reset
from cvrtracker.simulator.testing import SimClient, running_simulator


def point_settings_at(settings, sim) -> None:
    """Every Amazon URL of our settings to `sim`, its CA trusted, fast retries."""
    settings.AMAZON_LWA_TOKEN_URL = f"{sim.base_url}/auth/o2/token"
    settings.AMAZON_SPAPI_URLS = {region: sim.base_url for region in ("NA", "EU", "FE")}
    settings.AMAZON_CONSENT_URLS = {region: sim.base_url for region in ("NA", "EU", "FE")}
    settings.AMAZON_CA_FILE = str(sim.ca_path)
    settings.LWA_CLIENT_ID = sim.sim.app.client_id
    settings.LWA_CLIENT_SECRET = sim.sim.app.client_secret
    settings.AMAZON_APPLICATION_ID = sim.sim.app.application_id
    settings.AMAZON_REDIRECT_URI = sim.sim.app.redirect_uris[0]
    settings.AMAZON_APP_IS_DRAFT = sim.sim.app.draft
    settings.AMAZON_RETRY_INITIAL_SECONDS = 0.01
    settings.AMAZON_RETRY_MAX_SECONDS = 0.05
    settings.AMAZON_RETRY_ATTEMPTS = 4


@pytest.fixture
def sim(settings):
    """A simulator with relaxed quotas, and our settings pointing at it."""
    with running_simulator(asins=5, quota="relaxed") as server:
        point_settings_at(settings, server)
        yield server
    client._http.cache_clear()


@pytest.fixture
def sim_client(sim) -> SimClient:
    return SimClient(sim)


# Tests run the Sales & Traffic budget's clock this much faster: one request per
# 25 ms, 24 per 2.4 s (the relaxed simulator itself runs 100 times faster only).
FAST_TIME_SCALE = 36_000


def fast_budget(settings) -> None:
    settings.AMAZON_ST_TIME_SCALE = FAST_TIME_SCALE
    # The stuck limit is scaled too: keep it at a minute of test time.
    settings.AMAZON_REPORT_STUCK_SECONDS = 60 * FAST_TIME_SCALE


@contextmanager
def synced_simulator(settings, **options) -> Iterator:
    """A simulator whose calendar is our US marketplace's (reports of "yesterday" agree),
    a small plan, and our own Sales & Traffic budget run 36,000 times faster. The
    simulator's budget is off here (its relaxed clock is only 100 times faster):
    test_sync_budget_end_to_end.py runs both budgets at the same speed."""
    from cvrtracker.amazon.marketplaces import marketplace_today

    today = marketplace_today("ATVPDKIKX0DER")
    options = {"marketplaces": 1, "asins": 5, **options}
    with running_simulator(quota="relaxed", today=today, st_budget=False, **options) as server:
        point_settings_at(settings, server)
        settings.TASKS = {
            "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}
        }
        settings.AMAZON_REPORT_DAYS = 5
        settings.AMAZON_BACKFILL_DAYS = 5
        # The daily plan alone, as these tests count its reports: the one range report
        # asked on connect is test_sync_quick_totals.py's, which turns it back on.
        settings.AMAZON_QUICK_TOTALS = False
        fast_budget(settings)
        settings.AMAZON_REPORT_POLL_SECONDS = 0.2
        settings.AMAZON_JOB_QUOTA_WAIT_SECONDS = 1
        settings.AMAZON_RATELIMIT_STORAGE = "memory"
        memory_reset()  # a 429 blocked an earlier test's budget, not this one's
        yield server
    client._http.cache_clear()


@pytest.fixture
def sync_sim(settings):
    """synced_simulator's North American seller in the US only (the other sites it takes
    part in, Brazil and Non-Amazon, are still listed): test_sync_budget_end_to_end.py and
    sync_sim_eu cover several marketplaces."""
    with synced_simulator(settings) as server:
        yield server


@pytest.fixture
def sync_sim_eu(settings):
    """synced_simulator with a European seller too (seller 1: DE, FR, IT, ES, GB, IE)."""
    with synced_simulator(settings, sellers=2, marketplaces=None) as server:
        yield server
