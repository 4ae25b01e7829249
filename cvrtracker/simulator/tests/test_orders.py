"""Orders 2026-01-01: consistent with the reports, free of buyer data."""

from __future__ import annotations

import json

from cvrtracker.simulator.world import MARKETPLACES

from .conftest import MARKET, advance
from .test_reports import create, download

PATH = "/orders/2026-01-01/orders"


def all_orders(client, token, **params) -> list[dict]:
    orders, page = [], None
    while True:
        # Amazon wants every original parameter again with the token (models#5144).
        query = dict(params) if page is None else {**params, "paginationToken": page}
        body = client.get(PATH, token=token, params=query).json()
        orders += body["orders"]
        page = body.get("pagination", {}).get("nextToken")
        if not page:
            return orders


def test_orders_add_up_to_the_sales_and_traffic_units(client, token):
    # 2026-11-20 in Los Angeles (PST) runs from 08:00 UTC to 08:00 UTC the next day.
    orders = all_orders(
        client,
        token,
        createdAfter="2026-11-20T08:00:00Z",
        createdBefore="2026-11-21T07:59:59Z",
        marketplaceIds=MARKET,
        maxResultsPerPage=37,
        includedData="FULFILLMENT",
    )
    # The report is asked on the US day 2026-11-29: it still counts the orders that were
    # not cancelled before that day began.
    counted = [
        o
        for o in orders
        if o["fulfillment"]["fulfillmentStatus"] != "CANCELLED"
        or o["lastUpdatedTime"] >= "2026-11-29T08:00:00Z"
    ]
    units: dict[str, int] = {}
    for order in counted:
        for item in order["orderItems"]:
            units[item["product"]["asin"]] = (
                units.get(item["product"]["asin"], 0) + item["quantityOrdered"]
            )
    doc = json.loads(download(client, token, create(client, token)))
    expected = {
        row["childAsin"]: row["salesByAsin"]["unitsOrdered"]
        for row in doc["salesAndTrafficByAsin"]
        if row["salesByAsin"]["unitsOrdered"]
    }
    assert units == expected
    assert len({o["orderId"] for o in orders}) == len(orders)


def test_it_never_returns_buyer_or_recipient_data(client, token):
    orders = all_orders(
        client,
        token,
        createdAfter="2026-11-27T00:00:00Z",
        includedData="BUYER,RECIPIENT,PROCEEDS,FULFILLMENT",
    )
    assert orders
    for order in orders:
        assert "buyer" not in order and "recipient" not in order
        assert order["fulfillment"]["fulfillmentStatus"] in ("SHIPPED", "UNSHIPPED", "CANCELLED")
        currency = MARKETPLACES[order["salesChannel"]["marketplaceId"]].currency
        assert order["proceeds"]["grandTotal"]["currencyCode"] == currency


def test_get_order_returns_the_searched_order(client, token):
    (first, *_) = all_orders(
        client, token, createdAfter="2026-11-25T00:00:00Z", createdBefore="2026-11-25T23:59:59Z"
    )
    again = client.get(f"{PATH}/{first['orderId']}", token=token).json()["order"]
    assert again == first


def test_get_order_answers_404_for_a_made_up_id(client, token):
    assert client.get(f"{PATH}/111-1234567-1234567", token=token).status == 404


def test_it_needs_exactly_one_of_created_after_and_last_updated_after(client, token):
    assert client.get(PATH, token=token).status == 400
    both = client.get(
        PATH,
        token=token,
        params={"createdAfter": "2026-11-01T00:00:00Z", "lastUpdatedAfter": "2026-11-01T00:00:00Z"},
    )
    assert both.status == 400


def test_last_updated_after_finds_recently_shipped_orders(client, token):
    orders = all_orders(
        client, token, lastUpdatedAfter="2026-11-28T00:00:00Z", includedData="FULFILLMENT"
    )
    assert orders
    assert all(o["lastUpdatedTime"] >= "2026-11-28T00:00:00Z" for o in orders)


def first_page(client, token, **params):
    body = client.get(PATH, token=token, params=params).json()
    assert body["pagination"]["nextToken"]
    return body["pagination"]["nextToken"]


WINDOW = {"createdAfter": "2026-11-20T00:00:00Z", "createdBefore": "2026-11-23T00:00:00Z"}
STALE = "The paginationToken you have submitted is not valid"


def test_a_token_sent_alone_is_refused(client, token):
    page = first_page(client, token, maxResultsPerPage=5, **WINDOW)
    answer = client.get(PATH, token=token, params={"paginationToken": page})
    assert answer.status == 400
    assert answer.json()["errors"][0]["code"] == "InvalidInput"
    assert answer.json()["errors"][0]["message"].startswith(STALE)


def test_a_token_with_other_parameters_is_refused(client, token):
    page = first_page(client, token, maxResultsPerPage=5, **WINDOW)
    changed = {**WINDOW, "createdBefore": "2026-11-22T00:00:00Z", "paginationToken": page}
    assert client.get(PATH, token=token, params=changed).status == 400
    extra = {**WINDOW, "marketplaceIds": MARKET, "paginationToken": page}
    assert client.get(PATH, token=token, params=extra).status == 400


def test_a_next_page_may_change_its_size_and_included_data(client, token):
    page = first_page(client, token, maxResultsPerPage=5, **WINDOW)
    params = {**WINDOW, "maxResultsPerPage": 7, "includedData": "PROCEEDS", "paginationToken": page}
    body = client.get(PATH, token=token, params=params).json()
    assert len(body["orders"]) == 7
    assert all("proceeds" in order for order in body["orders"])


def test_a_token_expires_after_24_hours(client, token, seller):
    page = first_page(client, token, maxResultsPerPage=5, **WINDOW)
    advance(client, hours=23)
    token = client.access_token(seller.id)  # access tokens live one hour
    assert client.get(PATH, token=token, params={**WINDOW, "paginationToken": page}).status == 200
    advance(client, hours=1, seconds=5)
    token = client.access_token(seller.id)
    stale = client.get(PATH, token=token, params={**WINDOW, "paginationToken": page})
    assert stale.status == 400
    assert stale.json()["errors"][0]["message"].startswith(STALE)


def test_it_refuses_a_window_ending_less_than_two_minutes_ago(client, token):
    now = client.get("/_sim/").json()["now"]
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    late = (moment - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    early = (moment - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    refused = client.get(
        PATH,
        token=token,
        params={"lastUpdatedAfter": "2026-11-28T00:00:00Z", "lastUpdatedBefore": late},
    )
    assert refused.status == 400
    assert "2 minutes" in refused.json()["errors"][0]["message"]
    created = client.get(
        PATH, token=token, params={"createdAfter": "2026-11-28T00:00:00Z", "createdBefore": late}
    )
    assert created.status == 400
    fine = client.get(
        PATH,
        token=token,
        params={"lastUpdatedAfter": "2026-11-28T00:00:00Z", "lastUpdatedBefore": early},
    )
    assert fine.status == 200
    assert fine.json()["lastUpdatedBefore"] == early


def test_a_simulator_started_for_today_refuses_created_before_now_as_amazon_does():
    # Started without a day, the simulated clock is the wall clock: a client that sends
    # createdBefore=now (a bug on Amazon) meets Amazon's 400 here too, not an echo.
    from datetime import UTC, datetime, timedelta

    from cvrtracker.simulator.testing import SimClient, running_simulator

    with running_simulator(today=None) as server:
        client = SimClient(server)
        token = client.access_token(server.world.sellers[0].id)
        now = datetime.now(UTC)
        simulated = datetime.fromisoformat(
            client.get("/_sim/").json()["now"].replace("Z", "+00:00")
        )
        assert abs(simulated - now) < timedelta(minutes=1)
        for created, before in (("createdAfter", "createdBefore"), ("lastUpdatedAfter", None)):
            params = {created: (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
            params[before or "lastUpdatedBefore"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            refused = client.get(PATH, token=token, params=params)
            assert refused.status == 400
            assert "2 minutes" in refused.json()["errors"][0]["message"]
            assert "createdBefore" not in refused.json()
        params = {
            "createdAfter": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "createdBefore": (now - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        assert client.get(PATH, token=token, params=params).status == 200
