"""FBA Inventory v1: getInventorySummaries."""

from __future__ import annotations

from cvrtracker.simulator.testing import SimClient, running_simulator

from .conftest import MARKET, advance

PATH = "/fba/inventory/v1/summaries"
PARAMS = {"granularityType": "Marketplace", "granularityId": MARKET, "marketplaceIds": MARKET}


def test_it_reports_fba_stock_with_details(client, token, seller):
    body = client.get(PATH, token=token, params={**PARAMS, "details": "true"}).json()
    summaries = body["payload"]["inventorySummaries"]
    assert {s["sellerSku"] for s in summaries} == {p.sku for p in seller.products if p.fba}
    by_sku = {p.sku: p for p in seller.products}
    for summary in summaries:
        details = summary["inventoryDetails"]
        assert details["fulfillableQuantity"] == by_sku[summary["sellerSku"]].base_quantity
        assert summary["totalQuantity"] >= details["fulfillableQuantity"]


def test_a_quantity_change_shows_in_inventory(client, token, seller):
    product = next(p for p in seller.products if p.fba)
    client.post(
        f"/_sim/sellers/{seller.id}/listings/{product.sku}",
        json_body={"field": "quantity", "value": 0},
    )
    body = client.get(
        PATH, token=token, params={**PARAMS, "details": "true", "sellerSkus": product.sku}
    ).json()
    (summary,) = body["payload"]["inventorySummaries"]
    assert summary["inventoryDetails"]["fulfillableQuantity"] == 0


def _pages_setup():
    return running_simulator(asins=200)


def test_next_tokens_page_and_expire_after_30_seconds():
    with _pages_setup() as sim:
        client = SimClient(sim)
        token = client.access_token(sim.world.sellers[0].id)
        first = client.get(PATH, token=token, params=PARAMS).json()
        assert len(first["payload"]["inventorySummaries"]) == 50
        next_token = first["pagination"]["nextToken"]
        second = client.get(PATH, token=token, params={**PARAMS, "nextToken": next_token})
        assert second.status == 200
        advance(client, seconds=31)
        expired = client.get(PATH, token=token, params={**PARAMS, "nextToken": next_token})
        assert expired.status == 400


def test_it_requires_marketplace_granularity(client, token):
    answer = client.get(PATH, token=token, params={**PARAMS, "granularityType": "Store"})
    assert answer.status == 400
