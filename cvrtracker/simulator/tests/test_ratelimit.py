"""Token buckets per (seller, operation) with the models' usage plans."""

from __future__ import annotations

import pytest

from cvrtracker.simulator.ratelimit import RateLimiter
from cvrtracker.simulator.testing import SimClient, running_simulator

QUOTA_BODY = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_allows_the_burst_then_refuses():
    clock = FakeTime()
    limiter = RateLimiter("real", monotonic=clock)
    assert all(limiter.allow("A1", "getReport") for _ in range(15))
    assert not limiter.allow("A1", "getReport")


def test_it_refills_at_the_operation_rate():
    clock = FakeTime()
    limiter = RateLimiter("real", monotonic=clock)
    for _ in range(15):
        limiter.allow("A1", "createReport")
    clock.now += 59.0  # 0.0167 per second: not yet a whole token
    assert not limiter.allow("A1", "createReport")
    clock.now += 2.0
    assert limiter.allow("A1", "createReport")


def test_it_keeps_one_bucket_per_seller_and_operation():
    clock = FakeTime()
    limiter = RateLimiter("real", monotonic=clock)
    for _ in range(2):
        limiter.allow("A1", "getCatalogItem")
    assert not limiter.allow("A1", "getCatalogItem")
    assert limiter.allow("A2", "getCatalogItem")
    assert limiter.allow("A1", "searchCatalogItems")


def test_relaxed_mode_is_a_larger_but_honest_bucket():
    clock = FakeTime()
    limiter = RateLimiter("relaxed", monotonic=clock)
    assert limiter.plan("getReport") == (200.0, 1500.0)
    assert all(limiter.allow("A1", "getCatalogItem") for _ in range(200))
    assert not limiter.allow("A1", "getCatalogItem")


def test_it_refuses_an_unknown_mode():
    with pytest.raises(ValueError):
        RateLimiter("unlimited")


def test_it_answers_429_with_amazons_body_in_real_mode():
    with running_simulator(quota="real") as sim:
        client = SimClient(sim)
        token = client.access_token(sim.world.sellers[0].id)
        answers = [
            client.get("/sellers/v1/marketplaceParticipations", token=token) for _ in range(16)
        ]
        assert [a.status for a in answers] == [200] * 15 + [429]
        assert answers[0].headers["x-amzn-RateLimit-Limit"] == "0.016"
        assert answers[-1].json() == QUOTA_BODY
        assert "x-amzn-RateLimit-Limit" not in answers[-1].headers
