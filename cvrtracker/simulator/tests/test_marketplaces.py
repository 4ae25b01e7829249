"""Several marketplaces per seller, marketplace-local days and Amazon's 30-day revisions."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from cvrtracker.simulator.contract import validate_report_document
from cvrtracker.simulator.reports import MERCHANT_LISTING_COLUMNS, build_sales_and_traffic
from cvrtracker.simulator.server import SimulatorServer
from cvrtracker.simulator.testing import SimClient, running_simulator
from cvrtracker.simulator.world import (
    CA,
    DE,
    GB,
    IE,
    MX,
    NO_DAY,
    REVISION_DAYS,
    US,
    World,
)

from .test_orders import all_orders

TODAY = date(2026, 11, 29)
REPORTS = "/reports/2021-06-30/reports"
SNT = "GET_SALES_AND_TRAFFIC_REPORT"
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"


# -- the world ------------------------------------------------------------------------


def test_sellers_sell_in_the_marketplaces_of_their_region():
    world = World(seed=1, sellers=2, asins=20, today=TODAY)
    na, eu = world.sellers
    assert [m.country_code for m in na.marketplaces] == ["US", "CA", "MX"]
    assert [m.country_code for m in eu.marketplaces] == ["DE", "FR", "IT", "ES", "GB", "IE"]
    assert {m.currency for m in eu.marketplaces} == {"EUR", "GBP"}
    single = World(seed=1, sellers=2, asins=20, today=TODAY, marketplaces=1)
    assert [s.marketplaces for s in single.sellers] == [(US,), (DE,)]


def test_the_first_marketplace_offers_everything_the_others_a_stable_subset():
    world = World(seed=3, asins=2000, today=TODAY)
    seller = world.sellers[0]
    products = seller.products
    assert all(seller.offers(p, US) for p in products)
    for market, low, high in ((CA, 0.7, 0.9), (MX, 0.5, 0.7)):
        share = sum(seller.offers(p, market) for p in products) / len(products)
        assert low < share < high, market
        assert all(seller.offers(p, market) for p in products[:10])  # the scripted stories
    missing = next(p for p in products if not seller.offers(p, MX))
    assert world.day_stats(seller, missing, date(2026, 11, 20), MX) is NO_DAY
    again = World(seed=3, asins=2000, today=TODAY).sellers[0]
    assert [again.offers(p, MX) for p in again.products] == [seller.offers(p, MX) for p in products]
    # A marketplace the seller does not sell in offers nothing.
    assert not any(seller.offers(p, DE) for p in products[:50])


def test_smaller_marketplaces_see_less_traffic_at_local_prices():
    world = World(seed=3, asins=300, today=TODAY)
    seller = world.sellers[0]
    day = date(2026, 11, 10)

    def sessions(market):
        return sum(world.day_stats(seller, p, day, market).sessions for p in seller.products)

    assert sessions(MX) < sessions(CA) < sessions(US) / 4
    product = seller.products[20]
    cad = seller.local_price(product.launch_price_cents, CA)
    assert cad % 100 == 99
    assert 1.3 < cad / product.launch_price_cents < 1.5
    stats = world.day_stats(seller, seller.products[0], day, CA)
    assert stats.sales_cents == stats.units * seller.local_price(
        world.state_on(seller.products[0], day, CA).price_cents, CA
    )


def test_a_moment_belongs_to_each_marketplaces_own_day():
    three_utc = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    assert US.day_of(three_utc) == date(2026, 11, 19)
    assert CA.day_of(three_utc) == date(2026, 11, 19)
    assert DE.day_of(three_utc) == date(2026, 11, 20)
    assert US.day_start(date(2026, 11, 20)) == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert DE.day_start(date(2026, 11, 20)) == datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
    assert US.day_start(date(2026, 7, 1)) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # PDT


def test_a_change_counts_from_the_marketplace_day_it_was_made_on():
    world = World(seed=2, sellers=2, asins=20, today=TODAY)
    na, eu = world.sellers
    at = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # Nov 19 in Los Angeles, Nov 20 in Berlin
    for seller, market in ((na, US), (eu, DE)):
        product = next(p for p in seller.products[10:] if not p.changes)
        world.add_change(
            seller, product, name="title", value="New", at=at, effect=1.5,
            catalog_delay=timedelta(0), loses=False,
        )  # fmt: skip
        before = world.state_on(product, date(2026, 11, 18), market).effect
        on_19 = world.state_on(product, date(2026, 11, 19), market).effect
        on_20 = world.state_on(product, date(2026, 11, 20), market).effect
        expected = (1.0, 1.5, 1.5) if market is US else (1.0, 1.0, 1.5)
        assert (before, on_19, on_20) == expected
    truth = {t["sellerId"]: t for t in world.ground_truth() if t["field"] == "title"}
    assert truth[na.id]["effectiveDate"] == "2026-11-19"
    assert truth[eu.id]["effectiveDate"] == "2026-11-20"


def test_today_is_each_marketplaces_local_day():
    world = World(seed=1, asins=5, today=TODAY)  # the clock starts at 12:00 UTC
    assert world.today(US) == world.today(DE) == TODAY
    world.clock.advance(13 * 3600)  # 01:00 UTC on Nov 30
    assert world.today(US) == TODAY
    assert world.today(DE) == TODAY + timedelta(days=1)


def test_units_are_revised_for_thirty_days_then_final():
    world = World(seed=5, asins=200, today=TODAY)
    seller = world.sellers[0]
    day = date(2026, 10, 1)
    revised_any = False
    for product in seller.products:
        final = world.day_stats(seller, product, day)
        assert final.pending_units == 0
        series = [
            world.day_stats(seller, product, day, None, day + timedelta(k)) for k in range(1, 40)
        ]
        units = [s.units for s in series]
        assert units == sorted(units, reverse=True), "cancellations only take units away"
        assert all(s.units >= final.units for s in series)
        for k, s in enumerate(series, start=1):
            assert s.units == final.units + s.pending_units
            assert s.order_items == final.order_items + s.pending_units
            assert s.sales_cents * final.units == final.sales_cents * s.units
            if k >= REVISION_DAYS:
                assert s == final
            if k <= 3:
                assert (s.sessions, s.page_views) == (0, 0)
            else:
                assert (s.sessions, s.page_views) == (final.sessions, final.page_views)
        revised_any |= series[0].units > final.units
    assert revised_any


def test_by_date_sessions_count_a_shopper_once_while_units_add_up():
    world = World(seed=4, asins=60, today=TODAY)
    doc = json.loads(
        gzip.decompress(
            build_sales_and_traffic(
                world,
                world.sellers[0],
                start=date(2026, 11, 1),
                end=date(2026, 11, 1),
                date_granularity="DAY",
                asin_granularity="CHILD",
                as_of=TODAY,
            )
        )
    )
    (by_date,) = doc["salesAndTrafficByDate"]
    by_asin = doc["salesAndTrafficByAsin"]
    asin_sessions = sum(r["trafficByAsin"]["sessions"] for r in by_asin)
    assert 0.8 * asin_sessions < by_date["trafficByDate"]["sessions"] < asin_sessions
    assert by_date["salesByDate"]["unitsOrdered"] == sum(
        r["salesByAsin"]["unitsOrdered"] for r in by_asin
    )
    assert by_date["trafficByDate"]["pageViews"] == sum(
        r["trafficByAsin"]["pageViews"] for r in by_asin
    )


# -- through the API -------------------------------------------------------------------


@pytest.fixture
def two() -> Iterator[SimulatorServer]:
    """An NA seller (index 0) and a European one (index 1); the Sales & Traffic budget
    (test_report_budget.py) is off, so that refusals and documents can be read in a row."""
    with running_simulator(sellers=2, asins=40, st_budget=False) as server:
        yield server


@pytest.fixture
def api(two: SimulatorServer) -> SimClient:
    return SimClient(two)


def _tokens(api: SimClient, two: SimulatorServer) -> tuple[str, str]:
    na, eu = two.world.sellers
    return api.access_token(na.id), api.access_token(eu.id)


def _spec(market_ids, report_type=SNT, day="2026-11-20") -> dict:
    spec: dict = {"reportType": report_type, "marketplaceIds": market_ids}
    if report_type == SNT:
        spec.update(
            dataStartTime=f"{day}T12:00:00Z",
            dataEndTime=f"{day}T12:00:00Z",
            reportOptions={"dateGranularity": "DAY", "asinGranularity": "CHILD"},
        )
    return spec


def _report(api: SimClient, token: str, spec: dict) -> dict:
    answer = api.post(REPORTS, token=token, json_body=spec)
    assert answer.status == 202, answer.json()
    api.post("/_sim/clock", json_body={"seconds": 60})
    return api.get(f"{REPORTS}/{answer.json()['reportId']}", token=token).json()


def _document(api: SimClient, token: str, spec: dict) -> bytes:
    report = _report(api, token, spec)
    assert report["processingStatus"] == "DONE"
    url = api.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token=token
    ).json()["url"]
    return gzip.decompress(api.get(url).body)


def test_participations_list_non_amazon_and_an_unopened_site(api, two):
    na_token, eu_token = _tokens(api, two)
    na = api.get("/sellers/v1/marketplaceParticipations", token=na_token).json()["payload"]
    by_id = {e["marketplace"]["id"]: e for e in na}
    assert list(by_id) == [US.id, CA.id, MX.id, "A2Q3Y263D00KWC", "A2ZV50J4W1RKNI"]
    assert by_id["A2ZV50J4W1RKNI"]["marketplace"]["name"] == "Non-Amazon"
    assert by_id["A2ZV50J4W1RKNI"]["marketplace"]["countryCode"] == "US"
    assert all(e["participation"]["isParticipating"] for e in na)
    assert by_id["A2Q3Y263D00KWC"]["participation"]["hasSuspendedListings"] is False
    assert by_id[CA.id]["marketplace"]["defaultCurrencyCode"] == "CAD"
    eu = api.get("/sellers/v1/marketplaceParticipations", token=eu_token).json()["payload"]
    assert [e["marketplace"]["countryCode"] for e in eu] == [
        "DE", "FR", "IT", "ES", "GB", "IE", "US",
    ]  # fmt: skip
    # The control API says where each seller really sells.
    sellers = api.get("/_sim/").json()["sellers"]
    assert [m["marketplaceId"] for m in sellers[0]["marketplaces"]] == [US.id, CA.id, MX.id]
    assert sellers[0]["unopenedMarketplaceIds"] == ["A2Q3Y263D00KWC"]
    assert sellers[1]["marketplaces"][-1]["salesAndTrafficReport"] is False  # IE
    products = api.get(f"/_sim/sellers/{two.world.sellers[0].id}/products").json()
    assert all(p["marketplaceIds"][0] == US.id for p in products)
    assert any(MX.id not in p["marketplaceIds"] for p in products)


@pytest.mark.parametrize(
    ("seller_index", "market", "currency"),
    [(0, US, "USD"), (0, CA, "CAD"), (0, MX, "MXN"), (1, DE, "EUR"), (1, GB, "GBP")],
)
def test_each_marketplaces_report_is_in_its_currency(api, two, seller_index, market, currency):
    seller = two.world.sellers[seller_index]
    token = _tokens(api, two)[seller_index]
    doc = json.loads(_document(api, token, _spec([market.id])))
    validate_report_document(SNT, doc)
    assert doc["reportSpecification"]["marketplaceIds"] == [market.id]
    (row,) = doc["salesAndTrafficByDate"]
    assert row["salesByDate"]["orderedProductSales"]["currencyCode"] == currency
    assert all(
        r["salesByAsin"]["orderedProductSales"]["currencyCode"] == currency
        for r in doc["salesAndTrafficByAsin"]
    )
    # The products offered there, less those without a session or a unit that day (Amazon
    # leaves those out).
    day = date(2026, 11, 20)
    offered = [p for p in seller.products if seller.offers(p, market)]
    active = [
        p.asin
        for p in offered
        if (st := two.world.day_stats(seller, p, day, market, TODAY)).page_views or st.units
    ]
    assert [r["childAsin"] for r in doc["salesAndTrafficByAsin"]] == active
    assert len(active) > len(offered) / 2
    units = sum(
        two.world.day_stats(seller, p, date(2026, 11, 20), market, TODAY).units
        for p in seller.products
    )
    assert row["salesByDate"]["unitsOrdered"] == units


def test_merchant_listings_lists_what_a_marketplace_offers_at_its_prices(api, two):
    seller = two.world.sellers[0]
    token = _tokens(api, two)[0]
    lines = _document(api, token, _spec([MX.id], LISTINGS)).decode().splitlines()
    rows = [dict(zip(MERCHANT_LISTING_COLUMNS, x.split("\t"), strict=True)) for x in lines[1:]]
    assert [r["seller-sku"] for r in rows] == [
        p.sku for p in seller.products if seller.offers(p, MX)
    ]
    assert len(rows) < len(seller.products)
    assert all(r["price"].endswith(".99") for r in rows)
    product = seller.product(rows[0]["seller-sku"])
    assert float(rows[0]["price"]) > 10 * product.launch_price_cents / 100  # pesos


def test_sales_and_traffic_is_refused_in_ireland_and_for_two_marketplaces(api, two):
    na_token, eu_token = _tokens(api, two)
    ireland = api.post(REPORTS, token=eu_token, json_body=_spec([IE.id]))
    assert ireland.status == 400
    assert ireland.json()["errors"][0] == {
        "code": "InvalidInput",
        "message": "Some of the marketplaces are not allowed for this Report",
        "details": "",
    }
    both = api.post(REPORTS, token=na_token, json_body=_spec([US.id, CA.id]))
    assert both.status == 400
    assert "only be applied to one marketplace at a time" in both.json()["errors"][0]["message"]
    # Not one of the seller's (Brazil is only "participating"), or the other region's.
    for ids in (["A2Q3Y263D00KWC"], [DE.id]):
        assert api.post(REPORTS, token=na_token, json_body=_spec(ids)).status == 400
    # Other reports still take several marketplaces, and Ireland.
    assert api.post(REPORTS, token=na_token, json_body=_spec([US.id, CA.id], LISTINGS)).status == (
        202
    )
    assert api.post(REPORTS, token=eu_token, json_body=_spec([IE.id], LISTINGS)).status == 202


def test_a_day_is_complete_only_once_the_marketplace_day_is_over(api, two):
    api.post("/_sim/clock", json_body={"hours": 13})  # 2026-11-30T01:00Z
    na_token, eu_token = _tokens(api, two)
    # Nov 29 is over in Berlin, still running in Los Angeles.
    assert _report(api, na_token, _spec([US.id], day="2026-11-29"))["processingStatus"] == (
        "CANCELLED"
    )
    assert _report(api, eu_token, _spec([DE.id], day="2026-11-29"))["processingStatus"] == "DONE"
    # The time part is ignored: the literal date is the day asked for.
    spec = _spec([US.id], day="2026-11-28")
    spec["dataStartTime"] = spec["dataEndTime"] = "2026-11-28T23:30:00-08:00"
    report = _report(api, na_token, spec)
    assert report["processingStatus"] == "DONE"
    url = api.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token=na_token
    ).json()["url"]
    doc = json.loads(gzip.decompress(api.get(url).body))
    assert [r["date"] for r in doc["salesAndTrafficByDate"]] == ["2026-11-28"]


def test_orders_of_a_local_day_add_up_to_its_units_in_every_marketplace(api, two):
    seller = two.world.sellers[0]
    token = _tokens(api, two)[0]
    day = date(2026, 11, 15)
    for market in (US, CA, MX):
        start, end = market.day_start(day), market.day_start(day + timedelta(days=1))
        orders = all_orders(
            api,
            token,
            createdAfter=start.isoformat().replace("+00:00", "Z"),
            createdBefore=(end - timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
            marketplaceIds=market.id,
            includedData="FULFILLMENT,PROCEEDS",
        )
        assert {o["salesChannel"]["marketplaceId"] for o in orders} == {market.id}
        assert all(o["proceeds"]["grandTotal"]["currencyCode"] == market.currency for o in orders)
        # Every order of the day: what the first pull (asked the next day) counts.
        first_pull = sum(
            two.world.day_stats(seller, p, day, market, day + timedelta(days=1)).units
            for p in seller.products
        )
        assert sum(o["orderItems"][0]["quantityOrdered"] for o in orders) == first_pull
        # Those not cancelled before today began: what a report asked today counts.
        today_start = market.day_start(TODAY).isoformat().replace("+00:00", "Z")
        kept = [
            o
            for o in orders
            if o["fulfillment"]["fulfillmentStatus"] != "CANCELLED"
            or o["lastUpdatedTime"] >= today_start
        ]
        now = sum(two.world.day_stats(seller, p, day, market, TODAY).units for p in seller.products)
        assert sum(o["orderItems"][0]["quantityOrdered"] for o in kept) == now
        if market is US:
            assert len(kept) < len(orders), "some orders of the day were cancelled since"
        one = orders[0]
        again = api.get(f"/orders/2026-01-01/orders/{one['orderId']}", token=token, params={
            "includedData": "FULFILLMENT,PROCEEDS"
        }).json()["order"]  # fmt: skip
        assert again == one


def test_truth_and_inventory_per_marketplace(api, two):
    seller = two.world.sellers[0]
    token = _tokens(api, two)[0]
    product = seller.products[3]
    base = f"/_sim/sellers/{seller.id}/listings/{product.sku}/truth"
    final = api.get(base, params={"start": "2026-11-20", "end": "2026-11-30"}).json()
    assert final["marketplaceId"] == US.id
    assert final["days"][-1]["date"] == "2026-11-28"  # today (Nov 29) is not over
    canada = api.get(
        base,
        params={"start": "2026-11-20", "end": "2026-11-30"}
        | {"marketplaceId": CA.id, "asOf": "2026-11-29"},
    ).json()
    assert canada["currency"] == "CAD"
    expected = two.world.day_stats(seller, product, date(2026, 11, 27), CA, TODAY)
    day = next(d for d in canada["days"] if d["date"] == "2026-11-27")
    assert (day["units"], day["sessions"]) == (expected.units, 0)
    assert api.get(base, params={"start": "2026-11-20", "end": "2026-11-21",
                                 "marketplaceId": DE.id}).status == 400  # fmt: skip
    inventory = api.get(
        "/fba/inventory/v1/summaries",
        token=token,
        params={"granularityType": "Marketplace", "granularityId": MX.id, "marketplaceIds": MX.id},
    ).json()
    skus = [s["sellerSku"] for s in inventory["payload"]["inventorySummaries"]]
    assert skus == [p.sku for p in seller.products if p.fba and seller.offers(p, MX)]
    # Brazil is "participating" but never opened: no stock; Non-Amazon is no marketplace.
    brazil = "A2Q3Y263D00KWC"
    empty = api.get(
        "/fba/inventory/v1/summaries",
        token=token,
        params={"granularityType": "Marketplace", "granularityId": brazil}
        | {"marketplaceIds": brazil},
    )
    assert empty.json()["payload"]["inventorySummaries"] == []
    other = "A2ZV50J4W1RKNI"
    refused = api.get(
        "/fba/inventory/v1/summaries",
        token=token,
        params={"granularityType": "Marketplace", "granularityId": other, "marketplaceIds": other},
    )
    assert refused.status == 400
