import json
import re
import time

import pytest
from django.conf import settings as django_settings

from cvrtracker.amazon.client import SpApiClient, lwa_refresh
from cvrtracker.amazon.ratelimit import USAGE_PLANS, limiter_for
from cvrtracker.simulator.testing import SimClient, running_simulator

from .conftest import point_settings_at

pytestmark = pytest.mark.django_db

USAGE_PLAN_ROW = re.compile(r"\|\s*([0-9]*\.?[0-9]+)\s*\|\s*([0-9]+)\s*\|")


def model_plans() -> dict[str, tuple[float, int]]:
    found = {}
    for model in (django_settings.SPECS_DIR / "sp-api").glob("*.json"):
        spec = json.loads(model.read_text())
        for item in spec.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict) or "v0" in model.name:
                    continue
                match = USAGE_PLAN_ROW.search(operation.get("description", ""))
                if match and operation.get("operationId") in USAGE_PLANS:
                    found[operation["operationId"]] = (float(match[1]), int(match[2]))
    return found


def test_the_usage_plans_are_the_official_models():
    assert model_plans() == {op: (float(r), b) for op, (r, b) in USAGE_PLANS.items()}


def skip_without_redis(storage: str) -> None:
    if storage == "redis":
        from cvrtracker.amazon.ratelimit import redis_client

        try:
            redis_client().ping()
        except Exception:
            pytest.skip("no Redis on this machine")


@pytest.mark.parametrize("storage", ["database", "memory", "redis"])
def test_a_burst_then_the_refill_rate(settings, storage):
    skip_without_redis(storage)
    settings.AMAZON_RATELIMIT_STORAGE = storage
    key = f"burst-{storage}-{time.time_ns()}"
    limiter = limiter_for(key, "createReport")
    assert [limiter.try_acquire() for _ in range(15)] == [0] * 15
    # The 16th waits for one refill at 0.0167/s (run 5% slower for safety): ~63 s.
    wait_ms = limiter.try_acquire()
    assert 60_000 <= wait_ms <= 64_000
    # A second limiter (another worker process) sees the same empty bucket...
    assert limiter_for(key, "createReport").try_acquire() > 60_000
    # ...but another operation or connection has its own bucket.
    assert limiter_for(key, "getReport").try_acquire() == 0
    assert limiter_for(key + "-other", "createReport").try_acquire() == 0


@pytest.mark.parametrize("storage", ["database", "memory", "redis"])
def test_an_announced_rate_replaces_the_model_rate(settings, storage):
    skip_without_redis(storage)
    settings.AMAZON_RATELIMIT_STORAGE = storage
    limiter = limiter_for(f"announce-{storage}-{time.time_ns()}", "createReport")
    for _ in range(15):
        limiter.try_acquire()
    limiter.observe("1.5")
    assert limiter.observed_rate() == 1.5
    # The debt of the empty bucket is now counted at 1.5/s: under a second to wait.
    assert 0 < limiter.try_acquire() < 1000
    limiter.observe("garbage")
    limiter.observe("-1")
    assert limiter.observed_rate() == 1.5


def test_calls_never_exceed_amazons_quota(settings):
    """Against the simulator's real usage plans: 12 listing searches at 5/s, burst 5."""
    with running_simulator(asins=5, quota="real") as sim:
        point_settings_at(settings, sim)
        seller_id = sim.world.sellers[0].id
        refresh = SimClient(sim).refresh_token(seller_id)
        token = lwa_refresh(refresh_token=refresh).access_token
        client = SpApiClient(region="NA", rate_key=seller_id, access_token=lambda force: token)
        started = time.monotonic()
        for _ in range(12):
            client.call(
                "searchListingsItems",
                "GET",
                f"/listings/2021-08-01/items/{seller_id}",
                params={"marketplaceIds": "ATVPDKIKX0DER"},
            )
        elapsed = time.monotonic() - started
        counted = SimClient(sim).get("/_sim/counters").json()[seller_id]["searchListingsItems"]
    assert counted.get("throttled", 0) == 0 and counted["http_200"] == 12
    # Five at once, then seven at one per ~0.21 s.
    assert elapsed >= 7 * 0.2
