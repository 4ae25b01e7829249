"""Amazon tests talk to the simulator on loopback, never to Amazon."""

from __future__ import annotations

import pytest

from cvrtracker.amazon import client
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


@pytest.fixture
def sync_sim(settings):
    """A simulator whose calendar is our clock's (reports of "yesterday" agree), small plan."""
    from django.utils import timezone

    with running_simulator(asins=5, quota="relaxed", today=timezone.now().date()) as server:
        point_settings_at(settings, server)
        settings.TASKS = {
            "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}
        }
        settings.AMAZON_BACKFILL_DAYS = 5
        settings.AMAZON_REPORT_POLL_SECONDS = 0.2
        settings.AMAZON_JOB_QUOTA_WAIT_SECONDS = 1
        settings.AMAZON_RATELIMIT_STORAGE = "memory"
        yield server
    client._http.cache_clear()
