"""Listings Items 2021-08-01 and Sellers v1."""

from __future__ import annotations

from .conftest import MARKET

ALL_DATA = "summaries,attributes,issues,offers,fulfillmentAvailability,productTypes,relationships"


def test_it_lists_the_marketplace_participation(client, token, seller):
    payload = client.get("/sellers/v1/marketplaceParticipations", token=token).json()["payload"]
    assert payload[0]["marketplace"]["id"] == MARKET
    assert payload[0]["storeName"] == seller.store_name
    assert payload[0]["participation"] == {"isParticipating": True, "hasSuspendedListings": False}


def test_it_returns_every_included_data_set(client, token, seller):
    product = seller.products[0]
    item = client.get(
        f"/listings/2021-08-01/items/{seller.id}/{product.sku}",
        token=token,
        params={"marketplaceIds": MARKET, "includedData": ALL_DATA},
    ).json()
    assert item["sku"] == product.sku
    assert item["summaries"][0]["asin"] == product.asin
    assert len(item["attributes"]["bullet_point"]) == 5
    assert item["attributes"]["item_name"][0]["value"] == item["summaries"][0]["itemName"]
    assert item["offers"][0]["price"]["currencyCode"] == "USD"
    # The scripted main-image change of product 0 is already live.
    assert item["summaries"][0]["mainImage"]["link"].endswith(product.changes[0].value + ".jpg")


def test_it_defaults_to_summaries(client, token, seller):
    item = client.get(
        f"/listings/2021-08-01/items/{seller.id}/{seller.products[1].sku}",
        token=token,
        params={"marketplaceIds": MARKET},
    ).json()
    assert set(item) == {"sku", "summaries"}


def test_it_answers_404_for_an_unknown_sku(client, token, seller):
    answer = client.get(
        f"/listings/2021-08-01/items/{seller.id}/NOPE",
        token=token,
        params={"marketplaceIds": MARKET},
    )
    assert answer.status == 404


def test_it_requires_marketplace_ids(client, token, seller):
    answer = client.get(
        f"/listings/2021-08-01/items/{seller.id}/{seller.products[0].sku}", token=token
    )
    assert answer.status == 400


def test_search_pages_through_every_listing(client, token, seller):
    seen, page_token = [], None
    while True:
        params = {"marketplaceIds": MARKET, "pageSize": 7, "sortBy": "sku", "sortOrder": "ASC"}
        if page_token:
            params["pageToken"] = page_token
        body = client.get(
            f"/listings/2021-08-01/items/{seller.id}", token=token, params=params
        ).json()
        assert body["numberOfResults"] == 20
        seen += [item["sku"] for item in body["items"]]
        page_token = body.get("pagination", {}).get("nextToken")
        if not page_token:
            break
    assert seen == sorted(p.sku for p in seller.products)


def test_search_by_identifiers_and_status(client, token, seller):
    wanted = [p.sku for p in seller.products[:3]]
    body = client.get(
        f"/listings/2021-08-01/items/{seller.id}",
        token=token,
        params={"marketplaceIds": MARKET, "identifiers": wanted, "identifiersType": "SKU"},
    ).json()
    assert sorted(i["sku"] for i in body["items"]) == sorted(wanted)
    buyable = client.get(
        f"/listings/2021-08-01/items/{seller.id}",
        token=token,
        params={"marketplaceIds": MARKET, "withStatus": "BUYABLE", "pageSize": 20},
    ).json()
    assert buyable["numberOfResults"] == 20


def test_search_refuses_a_page_size_over_20(client, token, seller):
    answer = client.get(
        f"/listings/2021-08-01/items/{seller.id}",
        token=token,
        params={"marketplaceIds": MARKET, "pageSize": 21},
    )
    assert answer.status == 400


def test_image_links_point_at_images_the_simulator_serves(client, token, seller):
    item = client.get(
        f"/listings/2021-08-01/items/{seller.id}/{seller.products[3].sku}",
        token=token,
        params={"marketplaceIds": MARKET},
    ).json()
    image = client.get(item["summaries"][0]["mainImage"]["link"])
    assert image.status == 200
    assert image.headers["Content-Type"] == "image/png"
    assert image.body.startswith(b"\x89PNG\r\n\x1a\n")


def test_search_by_sku_takes_at_most_twenty_and_needs_its_type(client, token, seller):
    skus = [p.sku for p in seller.products]
    base = f"/listings/2021-08-01/items/{seller.id}"
    body = client.get(
        base,
        token=token,
        params={
            "marketplaceIds": MARKET,
            "identifiers": skus[:19] + ["NOT-A-SKU"],
            "identifiersType": "SKU",
            "pageSize": 20,
            "includedData": "summaries,attributes",
        },
    ).json()
    assert body["numberOfResults"] == 19
    assert {i["sku"] for i in body["items"]} == set(skus[:19])
    too_many = client.get(
        base,
        token=token,
        params={
            "marketplaceIds": MARKET,
            "identifiers": [*skus, "ONE-TOO-MANY"],
            "identifiersType": "SKU",
        },
    )
    assert too_many.status == 400
    untyped = client.get(
        base, token=token, params={"marketplaceIds": MARKET, "identifiers": skus[0]}
    )
    assert untyped.status == 400
    no_identifiers = client.get(
        base, token=token, params={"marketplaceIds": MARKET, "identifiersType": "SKU"}
    )
    assert no_identifiers.status == 400


def test_search_pages_through_at_most_1000_listings():
    from cvrtracker.simulator.testing import SimClient, running_simulator

    with running_simulator(asins=1030) as server:
        client = SimClient(server)
        seller = server.world.sellers[0]
        token = client.access_token(seller.id)
        seen, page_token, pages = [], None, 0
        while True:
            params = {"marketplaceIds": MARKET, "pageSize": 20, "sortBy": "sku", "sortOrder": "ASC"}
            if page_token:
                params["pageToken"] = page_token
            body = client.get(
                f"/listings/2021-08-01/items/{seller.id}", token=token, params=params
            ).json()
            # The model: numberOfResults is "the total number ... found", and "the
            # maximum number of items (SKUs) that can be returned and paged through is 1000".
            assert body["numberOfResults"] == 1030
            seen += [item["sku"] for item in body["items"]]
            pages += 1
            page_token = body.get("pagination", {}).get("nextToken")
            if not page_token:
                break
        assert pages == 50
        assert seen == sorted(p.sku for p in seller.products)[:1000]
        # Every SKU is still there to be read by identifier.
        last = sorted(p.sku for p in seller.products)[-1]
        body = client.get(
            f"/listings/2021-08-01/items/{seller.id}",
            token=token,
            params={"marketplaceIds": MARKET, "identifiers": last, "identifiersType": "SKU"},
        ).json()
        assert [i["sku"] for i in body["items"]] == [last]
