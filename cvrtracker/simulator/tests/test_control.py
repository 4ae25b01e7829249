"""The /_sim/ control API."""

from __future__ import annotations

import json

from django.test import RequestFactory

from cvrtracker.simulator.views import control

from .conftest import MARKET, advance

LISTING = "/listings/2021-08-01/items/{seller}/{sku}"


def test_it_refuses_non_loopback_clients(server):
    request = RequestFactory().get("/_sim/", REMOTE_ADDR="192.0.2.10")
    request.sim = server.sim
    answer = control.overview(request)
    assert answer.status_code == 403


def test_it_describes_the_running_world(client, seller):
    overview = client.get("/_sim/").json()
    assert overview["sellers"][0]["sellerId"] == seller.id
    assert overview["today"] == "2026-11-29"
    assert overview["app"]["applicationId"] == "amzn1.sp.solution.simulator"


def test_a_title_change_shows_in_listings_and_ground_truth(client, seller, token):
    sku = seller.products[12].sku
    changed = client.post(
        f"/_sim/sellers/{seller.id}/listings/{sku}",
        json_body={
            "field": "title",
            "value": "A Brand New Title",
            "effect": 1.3,
            "catalogDelaySeconds": 0,
        },
    )
    assert changed.status == 200
    assert changed.json()["catalogAt"] == changed.json()["at"]
    item = client.get(
        LISTING.format(seller=seller.id, sku=sku),
        token=token,
        params={"marketplaceIds": MARKET},
    ).json()
    assert item["summaries"][0]["itemName"] == "A Brand New Title"
    truth = client.get("/_sim/ground-truth", params={"sellerId": seller.id}).json()["changes"]
    assert truth[-1]["sku"] == sku
    assert truth[-1]["new"] == "A Brand New Title"
    assert truth[-1]["conversionMultiplier"] == 1.3
    assert truth[-1]["source"] == "control"


def test_price_quantity_status_and_issue_changes_reach_the_listing(client, seller, token):
    product = next(p for p in seller.products[10:] if not p.fba)
    base = f"/_sim/sellers/{seller.id}/listings/{product.sku}"
    client.post(base, json_body={"field": "price", "value": "12.34"})
    client.post(base, json_body={"field": "quantity", "value": 0})
    client.post(base, json_body={"field": "issue", "value": "suppress"})
    item = client.get(
        LISTING.format(seller=seller.id, sku=product.sku),
        token=token,
        params={
            "marketplaceIds": MARKET,
            "includedData": "summaries,offers,fulfillmentAvailability,issues",
        },
    ).json()
    assert item["offers"][0]["price"]["amount"] == "12.34"
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 0}]
    assert item["issues"][0]["enforcements"]["actions"] == [{"action": "SEARCH_SUPPRESSED"}]
    assert item["summaries"][0]["status"] == []


def test_it_refuses_a_bad_change(client, seller):
    sku = seller.products[0].sku
    answer = client.post(
        f"/_sim/sellers/{seller.id}/listings/{sku}", json_body={"field": "quantity", "value": -1}
    )
    assert answer.status == 400


def test_revocation_stops_all_successful_calls(client, seller, token):
    client.get("/sellers/v1/marketplaceParticipations", token=token)
    client.post(f"/_sim/sellers/{seller.id}/revoke")
    client.request("DELETE", "/_sim/counters")
    client.get("/sellers/v1/marketplaceParticipations", token=token)
    counts = client.get("/_sim/counters", params={"sellerId": seller.id}).json()
    assert counts == {seller.id: {"getMarketplaceParticipations": {"calls": 1, "unauthorized": 1}}}


def test_an_injected_throttle_answers_429(client, token):
    client.post("/_sim/faults", json_body={"operation": "getReports", "throttle_ratio": 1.0})
    answer = client.get(
        "/reports/2021-06-30/reports",
        token=token,
        params={"reportTypes": "GET_SALES_AND_TRAFFIC_REPORT"},
    )
    assert answer.status == 429
    assert client.get("/sellers/v1/marketplaceParticipations", token=token).status == 200


def test_an_injected_server_error_answers_5xx_until_cleared(client, token):
    client.post("/_sim/faults", json_body={"operation": "*", "error_ratio": 1.0})
    answer = client.get("/sellers/v1/marketplaceParticipations", token=token)
    assert answer.status in (500, 503)
    assert answer.json()["errors"][0]["code"] == "InternalFailure"
    client.request("DELETE", "/_sim/faults")
    assert client.get("/sellers/v1/marketplaceParticipations", token=token).status == 200


def test_injected_latency_slows_the_answer(client, token):
    import time

    client.post(
        "/_sim/faults", json_body={"operation": "getMarketplaceParticipations", "latency_ms": 200}
    )
    started = time.monotonic()
    client.get("/sellers/v1/marketplaceParticipations", token=token)
    assert time.monotonic() - started >= 0.2


def test_forced_report_outcomes(client, token):
    from .test_reports import create, finished

    client.post("/_sim/faults", json_body={"operation": "createReport", "report_outcome": "FATAL"})
    assert finished(client, token, create(client, token))["processingStatus"] == "FATAL"
    client.post("/_sim/faults", json_body={"operation": "createReport", "report_stuck": True})
    assert finished(client, token, create(client, token))["processingStatus"] == "IN_QUEUE"


def test_a_corrupt_document_does_not_gunzip(client, token):
    import gzip

    import pytest

    from .test_reports import create, finished

    client.post(
        "/_sim/faults", json_body={"operation": "getReportDocument", "corrupt_document": True}
    )
    report = finished(client, token, create(client, token))
    url = client.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token=token
    ).json()["url"]
    with pytest.raises((EOFError, OSError)):
        gzip.decompress(client.get(url).body)


def test_it_refuses_unknown_fault_fields(client):
    answer = client.post("/_sim/faults", json_body={"operation": "getReport", "explode": True})
    assert answer.status == 400


def test_advancing_the_clock_brings_new_days(client):
    before = client.get("/_sim/").json()["today"]
    after = advance(client, days=2)
    assert (before, after["today"]) == ("2026-11-29", "2026-12-01")


def test_it_serves_true_daily_numbers(client, seller):
    product = seller.products[4]
    answer = client.get(
        f"/_sim/sellers/{seller.id}/listings/{product.sku}/truth",
        params={"start": "2026-11-01", "end": "2026-11-10"},
    ).json()
    assert [d["date"] for d in answer["days"]][:2] == ["2026-11-01", "2026-11-02"]
    stock_out = [d for d in answer["days"] if "2026-11-05" <= d["date"] <= "2026-11-13"]
    assert all(d["units"] == 0 and d["sessions"] > 0 for d in stock_out)
    assert json.dumps(answer)


def test_it_lists_a_sellers_products(client, seller):
    products = client.get(f"/_sim/sellers/{seller.id}/products", params={"limit": 5}).json()
    assert [p["sku"] for p in products] == [p.sku for p in seller.products[:5]]
    assert client.get("/_sim/sellers/NOBODY/products").status == 404
