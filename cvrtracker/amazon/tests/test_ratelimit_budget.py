"""The Sales & Traffic request budget: one per 15 minutes, a share of 96 a day, shared."""

import time

import pytest

from cvrtracker.amazon.ratelimit import RequestBudget, sales_traffic_budget

from .test_ratelimit import skip_without_redis

pytestmark = pytest.mark.django_db

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def budget(settings, storage) -> RequestBudget:
    skip_without_redis(storage)
    settings.AMAZON_RATELIMIT_STORAGE = storage
    return sales_traffic_budget(f"budget-{storage}-{time.time_ns()}")


@pytest.mark.parametrize("storage", ["database", "memory", "redis"])
def test_one_request_per_fifteen_minutes(settings, storage):
    limiter = budget(settings, storage)
    now = 1_800_000_000.0
    assert limiter.try_acquire(now=now) == 0
    assert limiter.try_acquire(now=now + 1) == pytest.approx(15 * MINUTE - 1)
    # Another worker (a new limiter on the same key) sees the same grant.
    again = sales_traffic_budget(limiter.key.split(":")[0])
    assert again.wait(now=now + 14 * MINUTE) == pytest.approx(MINUTE)
    assert limiter.try_acquire(now=now + 15 * MINUTE) == 0


@pytest.mark.parametrize("storage", ["database", "memory", "redis"])
def test_a_quarter_of_96_in_any_24_hours(settings, storage):
    limiter = budget(settings, storage)
    start = 1_800_000_000.0
    granted = [
        start + n * 20 * MINUTE
        for n in range(30)
        if limiter.try_acquire(now=start + n * 20 * MINUTE) == 0
    ]
    assert limiter.cap == 24 and len(granted) == 24
    # The 25th waits until the first grant leaves the rolling window.
    last = start + 30 * 20 * MINUTE
    assert limiter.try_acquire(now=last) == pytest.approx(granted[0] + DAY - last)
    usage = limiter.usage(now=last)
    assert (usage.used, usage.cap) == (24, 24)
    assert usage.next_at == pytest.approx(granted[0] + DAY)
    assert limiter.try_acquire(now=granted[0] + DAY) == 0
    assert limiter.usage(now=granted[0] + DAY).used == 24  # the first left, one came


@pytest.mark.parametrize("storage", ["database", "memory", "redis"])
def test_a_429_blocks_every_worker_and_a_refund_gives_the_grant_back(settings, storage):
    limiter = budget(settings, storage)
    now = 1_800_000_000.0
    limiter.block(15 * MINUTE, now=now)
    assert limiter.wait(now=now + MINUTE) == pytest.approx(14 * MINUTE)
    assert limiter.try_acquire(now=now + 15 * MINUTE) == 0
    limiter.refund(now + 15 * MINUTE)
    assert limiter.usage(now=now + 15 * MINUTE).used == 0
    assert limiter.try_acquire(now=now + 15 * MINUTE + 1) == 0


def test_the_share_scope_and_time_scale_come_from_settings(settings):
    settings.AMAZON_RATELIMIT_STORAGE = "memory"
    settings.AMAZON_ST_BUDGET_SHARE = 0.5
    settings.AMAZON_ST_TIME_SCALE = 100
    seller = sales_traffic_budget("seller-a")
    assert (seller.cap, seller.interval, seller.window) == (48, 9.0, 864.0)
    assert seller.key != sales_traffic_budget("seller-b").key
    settings.AMAZON_ST_BUDGET_SCOPE = "app"
    # One budget for the app across all sellers.
    assert sales_traffic_budget("seller-a").key == sales_traffic_budget("seller-b").key
    settings.AMAZON_ST_BUDGET_SHARE = 0.001
    assert sales_traffic_budget("seller-a").cap == 1
