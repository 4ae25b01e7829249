"""Listings Items, Catalog Items and FBA Inventory in every marketplace a seller sells in.

SimClient validates every answer against the official models (testing.SimClient).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cvrtracker.simulator.server import SimulatorServer
from cvrtracker.simulator.testing import SimClient, running_simulator
from cvrtracker.simulator.world import BR, CA, DE, FR, MX, NON_AMAZON, US, Seller

from .conftest import advance

LISTINGS = "/listings/2021-08-01/items"
CATALOG = "/catalog/2022-04-01/items"
LISTING_DATA = "summaries,attributes,offers,productTypes,relationships,fulfillmentAvailability"
CATALOG_DATA = "attributes,summaries,salesRanks,images,identifiers,productTypes,relationships"


@pytest.fixture
def two() -> Iterator[SimulatorServer]:
    """An NA seller (index 0: US, CA, MX) and a European one (index 1: DE ... IE)."""
    with running_simulator(sellers=2, asins=40) as server:
        yield server


@pytest.fixture
def api(two: SimulatorServer) -> SimClient:
    return SimClient(two)


@pytest.fixture
def na(two: SimulatorServer) -> Seller:
    return two.world.sellers[0]


@pytest.fixture
def eu(two: SimulatorServer) -> Seller:
    return two.world.sellers[1]


def _listing(api, seller, sku, market_ids, data=LISTING_DATA):
    return api.get(
        f"{LISTINGS}/{seller.id}/{sku}",
        token=api.access_token(seller.id),
        params={"marketplaceIds": market_ids, "includedData": data},
    )


def _catalog(api, seller, asin, market_id, data=CATALOG_DATA):
    return api.get(
        f"{CATALOG}/{asin}",
        token=api.access_token(seller.id),
        params={"marketplaceIds": market_id, "includedData": data},
    )


def _search(api, seller, market_ids, **params):
    return api.get(
        f"{LISTINGS}/{seller.id}",
        token=api.access_token(seller.id),
        params={"marketplaceIds": market_ids, **params},
    )


def _not_in(seller: Seller, market) -> object:
    return next(p for p in seller.products if not seller.offers(p, market))


# -- Listings Items ---------------------------------------------------------------------


def test_canada_answers_in_cad_at_the_canadian_price(api, na):
    product = next(p for p in na.products[10:] if na.offers(p, CA))
    item = _listing(api, na, product.sku, CA.id).json()
    cad = na.local_price(product.launch_price_cents, CA)
    assert cad != product.launch_price_cents
    assert item["summaries"][0]["marketplaceId"] == CA.id
    assert item["offers"] == [
        {
            "marketplaceId": CA.id,
            "offerType": "B2C",
            "price": {"currencyCode": "CAD", "amount": f"{cad / 100:.2f}"},
        }
    ]
    (offer,) = item["attributes"]["purchasable_offer"]
    assert offer["currency"] == "CAD" and offer["marketplace_id"] == CA.id
    assert offer["our_price"][0]["schedule"][0]["value_with_tax"] == cad / 100
    assert {v["language_tag"] for v in item["attributes"]["item_name"]} == {"en_CA"}
    assert item["productTypes"][0]["marketplaceId"] == CA.id


def test_a_price_edit_shows_at_the_local_price_of_the_merchant_listings_report(api, na):
    product = na.products[3]
    answer = api.post(
        f"/_sim/sellers/{na.id}/listings/{product.sku}", json_body={"field": "price", "value": 30}
    )
    assert answer.status == 200, answer.body
    item = _listing(api, na, product.sku, CA.id).json()
    assert item["offers"][0]["price"]["amount"] == f"{na.local_price(3000, CA) / 100:.2f}"


def test_the_european_seller_answers_in_germany_in_eur_and_german(api, eu):
    product = eu.products[0]
    item = _listing(api, eu, product.sku, DE.id).json()
    assert item["summaries"][0]["marketplaceId"] == DE.id
    assert item["offers"][0]["price"]["currencyCode"] == "EUR"
    assert item["offers"][0]["price"]["amount"] == f"{product.launch_price_cents / 100:.2f}"
    assert {v["language_tag"] for v in item["attributes"]["bullet_point"]} == {"de_DE"}
    assert item["fulfillmentAvailability"][0].get("fulfillmentChannelCode") in (
        "AMAZON_EU",
        "DEFAULT",
    )
    assert _listing(api, eu, product.sku, US.id).status == 400


def test_several_marketplaces_in_one_request_give_one_entry_each(api, eu):
    product = eu.products[0]  # the scripted ones are offered everywhere
    item = _listing(api, eu, product.sku, f"{DE.id},{FR.id}").json()
    assert [s["marketplaceId"] for s in item["summaries"]] == [DE.id, FR.id]
    assert [(o["marketplaceId"], o["price"]["currencyCode"]) for o in item["offers"]] == [
        (DE.id, "EUR"),
        (FR.id, "EUR"),
    ]
    assert [v["language_tag"] for v in item["attributes"]["item_name"]] == ["de_DE", "fr_FR"]


def test_a_sku_not_offered_in_mexico_is_not_found_there(api, na):
    missing = _not_in(na, MX)
    answer = _listing(api, na, missing.sku, MX.id)
    unknown = _listing(api, na, "NO-SUCH-SKU", MX.id)
    assert answer.status == unknown.status == 404
    assert answer.json()["errors"][0]["code"] == unknown.json()["errors"][0]["code"] == "NOT_FOUND"
    assert _listing(api, na, missing.sku, US.id).status == 200
    # In a search for it by SKU, it is simply not there.
    body = _search(api, na, MX.id, identifiers=missing.sku, identifiersType="SKU").json()
    assert body == {"numberOfResults": 0, "items": []}


def test_search_in_mexico_lists_only_what_mexico_offers(api, na):
    offered = {p.sku for p in na.products if na.offers(p, MX)}
    assert 10 <= len(offered) < len(na.products)
    seen: list[str] = []
    page_token = None
    while True:
        params = {"pageSize": 20, "includedData": "summaries,offers"}
        if page_token:
            params["pageToken"] = page_token
        body = _search(api, na, MX.id, **params).json()
        assert body["numberOfResults"] == len(offered)
        for item in body["items"]:
            assert item["offers"][0]["price"]["currencyCode"] == "MXN"
            assert item["summaries"][0]["marketplaceId"] == MX.id
        seen += [item["sku"] for item in body["items"]]
        page_token = body.get("pagination", {}).get("nextToken")
        if not page_token:
            break
    assert set(seen) == offered and len(seen) == len(offered)


def test_a_marketplace_the_seller_does_not_sell_in_is_refused(api, na):
    product = na.products[0]
    for market in (BR.id, NON_AMAZON.id, DE.id, f"{US.id},{BR.id}"):
        answer = _listing(api, na, product.sku, market)
        assert answer.status == 400, market
        assert answer.json()["errors"][0]["code"] == "InvalidInput"
        searched = _search(api, na, market)
        assert searched.status == 400
        assert searched.json()["errors"][0]["code"] == "InvalidInput"


# -- Catalog Items ----------------------------------------------------------------------


def test_catalog_items_in_canada_and_germany(api, na, eu):
    product = na.products[0]
    item = _catalog(api, na, product.asin, CA.id).json()
    (price,) = item["attributes"]["list_price"]
    assert price == {
        "value": round(na.local_price(product.launch_price_cents, CA) / 100, 2),
        "currency": "CAD",
        "marketplace_id": CA.id,
    }
    assert item["summaries"][0]["marketplaceId"] == CA.id
    assert item["salesRanks"][0]["marketplaceId"] == CA.id
    assert item["attributes"]["item_name"][0]["language_tag"] == "en_CA"
    german = _catalog(api, eu, eu.products[0].asin, DE.id).json()
    assert german["attributes"]["list_price"][0]["currency"] == "EUR"
    assert german["attributes"]["item_name"][0]["language_tag"] == "de_DE"
    assert german["images"][0]["marketplaceId"] == DE.id


def test_the_sales_rank_reads_the_marketplaces_own_days(two, na):
    from cvrtracker.simulator.views.catalog import sales_rank

    world = two.world
    ranks = {m.id: sales_rank(world, na, p, m) for p in na.products[:10] for m in (US, MX)}
    assert all(rank >= 1 for rank in ranks.values())
    # MX sees a few percent of US traffic, so its best sellers sell less and rank worse.
    us = sorted(sales_rank(world, na, p, US) for p in na.products[:10])
    mx = sorted(sales_rank(world, na, p, MX) for p in na.products[:10])
    assert us[0] < mx[0]


def test_catalog_search_lists_only_what_the_marketplace_offers(api, na):
    missing = _not_in(na, MX)
    asins = [p.asin for p in na.products[:19] if p is not missing] + [missing.asin]
    body = api.get(
        CATALOG,
        token=api.access_token(na.id),
        params={
            "marketplaceIds": MX.id,
            "identifiers": asins,
            "identifiersType": "ASIN",
            "pageSize": 20,
            "includedData": "summaries,attributes",
        },
    ).json()
    wanted = [a for a in asins if na.offers(na.product_by_asin(a), MX)]
    assert [i["asin"] for i in body["items"]] == wanted
    assert missing.asin not in wanted and body["numberOfResults"] == len(wanted)
    assert all(i["attributes"]["list_price"][0]["currency"] == "MXN" for i in body["items"])
    assert _catalog(api, na, missing.asin, MX.id).status == 404
    assert _catalog(api, na, missing.asin, US.id).status == 200


def test_catalog_refuses_a_marketplace_not_sold_in_and_more_than_one(api, na):
    asin = na.products[0].asin
    for market in (BR.id, NON_AMAZON.id, DE.id):
        answer = _catalog(api, na, asin, market)
        assert answer.status == 400
        assert answer.json()["errors"][0]["code"] == "InvalidInput"
    assert _catalog(api, na, asin, f"{US.id},{CA.id}").status == 400
    searched = api.get(
        CATALOG,
        token=api.access_token(na.id),
        params={"marketplaceIds": BR.id, "identifiers": asin, "identifiersType": "ASIN"},
    )
    assert searched.status == 400


def test_catalog_lag_holds_in_every_marketplace(api, eu):
    product = next(p for p in eu.products[10:] if eu.offers(p, FR))
    old = _catalog(api, eu, product.asin, FR.id).json()["summaries"][0]["itemName"]
    answer = api.post(
        f"/_sim/sellers/{eu.id}/listings/{product.sku}",
        json_body={"field": "title", "value": "Nouveau titre", "catalogDelaySeconds": 7200},
    )
    assert answer.status == 200, answer.body
    for market in (DE, FR):
        listing = _listing(api, eu, product.sku, market.id, "summaries,attributes").json()
        assert listing["attributes"]["item_name"][0]["value"] == "Nouveau titre"
        assert listing["summaries"][0]["itemName"] == old
        assert _catalog(api, eu, product.asin, market.id).json()["summaries"][0]["itemName"] == old
    advance(api, seconds=7200)
    for market in (DE, FR):
        shown = _catalog(api, eu, product.asin, market.id).json()
        assert shown["summaries"][0]["itemName"] == "Nouveau titre"


# -- FBA Inventory ----------------------------------------------------------------------


def test_inventory_in_canada_lists_only_what_canada_offers(api, na):
    body = api.get(
        "/fba/inventory/v1/summaries",
        token=api.access_token(na.id),
        params={"granularityType": "Marketplace", "granularityId": CA.id, "marketplaceIds": CA.id},
    ).json()
    skus = [s["sellerSku"] for s in body["payload"]["inventorySummaries"]]
    expected = [p.sku for p in na.products if p.fba and na.offers(p, CA)]
    assert skus == expected
    assert len(expected) < sum(p.fba for p in na.products)  # some FBA SKUs are not sold in CA
    assert body["payload"]["granularity"]["granularityId"] == CA.id
