"""The Sales & Traffic budget: 1 createReport per 15 minutes and 96 a day (models#5210)."""

from __future__ import annotations

import pytest

from cvrtracker.simulator.ratelimit import (
    RateLimiter,
    ReportTypeBudget,
    sales_traffic_budget,
)
from cvrtracker.simulator.reports import MERCHANT_LISTINGS, SALES_AND_TRAFFIC
from cvrtracker.simulator.testing import ManualClock, SimClient, running_simulator

from .conftest import MARKET, advance
from .test_ratelimit import QUOTA_BODY

REPORTS = "/reports/2021-06-30/reports"


def st_spec(day: str = "2026-11-20") -> dict:
    return {
        "reportType": SALES_AND_TRAFFIC,
        "marketplaceIds": [MARKET],
        "dataStartTime": f"{day}T12:00:00Z",
        "dataEndTime": f"{day}T12:00:00Z",
        "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
    }


LISTINGS_SPEC = {"reportType": MERCHANT_LISTINGS, "marketplaceIds": [MARKET]}


def limiter(mode: str = "real", **options) -> tuple[RateLimiter, ManualClock]:
    clock = ManualClock()
    budget = sales_traffic_budget(mode, **options)
    return RateLimiter(mode, monotonic=clock, report_budgets={SALES_AND_TRAFFIC: budget}), clock


def st(limit: RateLimiter, seller: str = "A1") -> bool:
    return limit.allow(seller, "createReport", SALES_AND_TRAFFIC)


# -- the budget itself, on a manual clock ---------------------------------------------------


def test_only_the_first_of_sixteen_quick_requests_passes():
    limit, _ = limiter()
    assert [st(limit) for _ in range(16)] == [True] + [False] * 15


def test_one_request_passes_every_fifteen_minutes():
    limit, clock = limiter()
    assert st(limit)
    clock.advance(899)
    assert not st(limit)
    clock.advance(1)
    assert st(limit)


def test_with_nobody_else_the_interval_alone_gives_96_a_day():
    limit, clock = limiter()
    for _ in range(96):
        assert st(limit)
        clock.advance(900)
    # 86,400 s / 900 s = 96: the first request has just left the day as the interval refills.
    state = limit.budget_state("A1", SALES_AND_TRAFFIC)
    assert state["used"] == 95 and state["nextAllowedInSeconds"] == 0
    assert st(limit)


def test_the_day_cap_refuses_even_when_the_interval_allows():
    limit, clock = limiter(other_apps_per_day=6)
    for _ in range(90):
        assert st(limit)
        clock.advance(900)
    # 90 of ours + 6 of the other apps = 96: the interval has refilled, the day has not.
    assert limit.budget_state("A1", SALES_AND_TRAFFIC)["remaining"] == 0
    assert not st(limit)
    clock.advance(900 * 5)  # still inside the day of our first request
    assert not st(limit)
    clock.advance(900)  # our first request is now a day old
    assert st(limit)


def test_other_apps_usage_reduces_ours():
    limit, clock = limiter(other_apps_per_day=90)
    state = limit.budget_state("A1", SALES_AND_TRAFFIC)
    assert state["remaining"] == 6 and state["otherAppsPerDay"] == 90
    passed = 0
    for _ in range(96):
        passed += st(limit)
        clock.advance(900)
    assert passed == 6


def test_other_apps_can_use_the_whole_day():
    limit, _ = limiter(other_apps_per_day=96)
    assert not st(limit)
    assert limit.budget_state("A1", SALES_AND_TRAFFIC)["nextAllowedInSeconds"] is None


def test_each_seller_has_its_own_budget_by_default():
    limit, _ = limiter()
    assert st(limit, "A1")
    assert st(limit, "A2")
    assert not st(limit, "A1")


def test_app_scope_shares_one_budget_across_sellers():
    limit, clock = limiter(scope="app")
    assert st(limit, "A1")
    assert not st(limit, "A2")
    clock.advance(900)
    assert st(limit, "A2")
    assert limit.budget_state("A1", SALES_AND_TRAFFIC)["used"] == 2


def test_relaxed_mode_shrinks_only_the_clock():
    budget = sales_traffic_budget("relaxed")
    assert (budget.interval, budget.day, budget.per_day) == (9.0, 864.0, 96)
    limit, clock = limiter("relaxed", other_apps_per_day=16)
    passed = []
    for _ in range(100):
        passed.append(st(limit))
        passed.append(st(limit))  # a second request in the same interval: always refused
        clock.advance(9)
    # One per 9 s, and 96 - 16 = 80 in 864 s: the shape of a real day, 100 times faster.
    assert sum(passed[: 2 * 80]) == 80
    assert not any(passed[2 * 80 : 2 * 96])
    assert sum(passed[2 * 96 :]) == 4


def test_other_report_types_do_not_touch_the_budget():
    limit, _ = limiter()
    assert all(limit.allow("A1", "createReport", MERCHANT_LISTINGS) for _ in range(15))
    assert not limit.allow("A1", "createReport", MERCHANT_LISTINGS)  # the generic burst of 15
    assert limit.budget_state("A1", SALES_AND_TRAFFIC)["used"] == 0


def test_a_refused_generic_request_spends_nothing_of_the_budget():
    limit, _ = limiter()
    for _ in range(15):
        limit.allow("A1", "createReport", MERCHANT_LISTINGS)
    assert not st(limit)
    assert limit.budget_state("A1", SALES_AND_TRAFFIC)["used"] == 0


def test_it_refuses_impossible_options():
    with pytest.raises(ValueError):
        ReportTypeBudget(scope="everyone")
    with pytest.raises(ValueError):
        ReportTypeBudget(other_apps_per_day=97)


# -- through the API ------------------------------------------------------------------------


@pytest.fixture
def quota_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def real(quota_clock):
    """Real quotas, two sellers, on a manual quota clock."""
    with running_simulator(quota="real", sellers=2, monotonic=quota_clock) as server:
        yield server


def test_it_answers_429_as_for_every_other_quota(real, quota_clock):
    client = SimClient(real)
    seller = real.world.sellers[0].id
    token = client.access_token(seller)
    answers = [client.post(REPORTS, token=token, json_body=st_spec()) for _ in range(16)]
    assert [a.status for a in answers] == [202] + [429] * 15
    refused = answers[-1]
    assert refused.json() == QUOTA_BODY
    assert refused.headers["x-amzn-RequestId"]
    assert "x-amzn-RateLimit-Limit" not in refused.headers
    calls = client.get("/_sim/counters", params={"sellerId": seller}).json()[seller]
    assert calls["createReport"] == {"calls": 16, "http_202": 1, "throttled": 15}


def test_advancing_the_calendar_hands_out_nothing(real, quota_clock):
    client = SimClient(real)
    seller = real.world.sellers[0].id
    token = client.access_token(seller)
    assert client.post(REPORTS, token=token, json_body=st_spec()).status == 202
    advance(client, days=2)
    token = client.access_token(seller)  # the old one expired with the calendar
    assert client.post(REPORTS, token=token, json_body=st_spec()).status == 429
    quota_clock.advance(900)
    assert client.post(REPORTS, token=token, json_body=st_spec()).status == 202


def test_other_report_types_are_not_metered_by_it(real):
    client = SimClient(real)
    token = client.access_token(real.world.sellers[0].id)
    assert client.post(REPORTS, token=token, json_body=st_spec()).status == 202
    listings = [client.post(REPORTS, token=token, json_body=LISTINGS_SPEC) for _ in range(14)]
    # The S&T request took one of the generic 15; the other 14 are the listings'.
    assert all(a.status == 202 for a in listings)


def test_the_control_api_shows_the_budget(real, quota_clock):
    client = SimClient(real)
    seller = real.world.sellers[0].id
    token = client.access_token(seller)
    client.post(REPORTS, token=token, json_body=st_spec())
    view = client.get("/_sim/sales-traffic-budget", params={"sellerId": seller}).json()
    assert view["enabled"] and view["reportType"] == SALES_AND_TRAFFIC
    (budget,) = view["budgets"]
    assert budget["sellerId"] == seller and budget["scope"] == "seller"
    assert (budget["used"], budget["remaining"]) == (1, 95)
    assert budget["nextAllowedInSeconds"] == pytest.approx(900, abs=0.01)
    assert budget["nextAllowedAt"].endswith("Z")
    quota_clock.advance(900)
    again = client.get("/_sim/sales-traffic-budget", params={"sellerId": seller}).json()
    assert again["budgets"][0]["nextAllowedInSeconds"] == 0
    everyone = client.get("/_sim/sales-traffic-budget").json()["budgets"]
    assert [b["used"] for b in everyone] == [1, 0]
    client.request("DELETE", "/_sim/sales-traffic-budget")
    assert client.get("/_sim/sales-traffic-budget").json()["budgets"][0]["used"] == 0


def test_app_scope_through_the_api(quota_clock):
    with running_simulator(sellers=2, quota="real", st_scope="app", monotonic=quota_clock) as sim:
        client = SimClient(sim)
        first, second = (client.access_token(s.id) for s in sim.world.sellers)
        assert client.post(REPORTS, token=first, json_body=st_spec()).status == 202
        assert client.post(REPORTS, token=second, json_body=st_spec()).status == 429
        budgets = client.get("/_sim/sales-traffic-budget").json()["budgets"]
        assert {b["key"] for b in budgets} == {"app"}
        assert all(b["used"] == 1 for b in budgets)


def test_other_apps_through_the_api(quota_clock):
    with running_simulator(quota="real", st_other_apps_per_day=95, monotonic=quota_clock) as sim:
        client = SimClient(sim)
        token = client.access_token(sim.world.sellers[0].id)
        assert client.post(REPORTS, token=token, json_body=st_spec()).status == 202
        quota_clock.advance(900)
        assert client.post(REPORTS, token=token, json_body=st_spec()).status == 429


def test_the_budget_can_be_switched_off(quota_clock):
    with running_simulator(quota="real", st_budget=False, monotonic=quota_clock) as sim:
        client = SimClient(sim)
        token = client.access_token(sim.world.sellers[0].id)
        answers = [client.post(REPORTS, token=token, json_body=st_spec()) for _ in range(16)]
        assert [a.status for a in answers] == [202] * 15 + [429]  # the generic bucket only
        assert client.get("/_sim/sales-traffic-budget").json() == {
            "reportType": SALES_AND_TRAFFIC,
            "enabled": False,
            "quota": "real",
            "budgets": [],
        }


def test_relaxed_mode_meters_it_too(quota_clock):
    with running_simulator(quota="relaxed", monotonic=quota_clock) as sim:
        client = SimClient(sim)
        token = client.access_token(sim.world.sellers[0].id)
        assert client.post(REPORTS, token=token, json_body=st_spec()).status == 202
        assert client.post(REPORTS, token=token, json_body=st_spec()).status == 429
        quota_clock.advance(9)
        assert client.post(REPORTS, token=token, json_body=st_spec()).status == 202
