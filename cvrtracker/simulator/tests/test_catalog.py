"""Catalog Items 2022-04-01."""

from __future__ import annotations

from .conftest import MARKET

ALL_DATA = (
    "attributes,classifications,identifiers,images,productTypes,relationships,salesRanks,summaries"
)


def test_it_returns_images_attributes_summaries_and_ranks(client, token, seller):
    product = seller.products[2]
    item = client.get(
        f"/catalog/2022-04-01/items/{product.asin}",
        token=token,
        params={"marketplaceIds": MARKET, "includedData": ALL_DATA},
    ).json()
    assert item["asin"] == product.asin
    variants = [image["variant"] for image in item["images"][0]["images"]]
    assert variants[0] == "MAIN" and len(variants) == product.image_count
    assert item["summaries"][0]["brand"] == product.brand
    assert item["salesRanks"][0]["classificationRanks"][0]["rank"] >= 1
    assert len(item["attributes"]["bullet_point"]) == 5


def test_it_searches_up_to_twenty_identifiers(client, token, seller):
    asins = [p.asin for p in seller.products[:20]]
    body = client.get(
        "/catalog/2022-04-01/items",
        token=token,
        params={
            "marketplaceIds": MARKET,
            "identifiers": asins,
            "identifiersType": "ASIN",
            "pageSize": 20,
        },
    ).json()
    assert [i["asin"] for i in body["items"]] == asins
    too_many = client.get(
        "/catalog/2022-04-01/items",
        token=token,
        params={
            "marketplaceIds": MARKET,
            "identifiers": asins + ["B0EXTRA"],
            "identifiersType": "ASIN",
        },
    )
    assert too_many.status == 400


def test_it_searches_keywords_with_refinements(client, token, seller):
    word = seller.products[0].brand.split()[0]
    body = client.get(
        "/catalog/2022-04-01/items",
        token=token,
        params={"marketplaceIds": MARKET, "keywords": word},
    ).json()
    assert body["numberOfResults"] >= 1
    assert body["refinements"]["brands"]


def test_it_answers_404_for_an_unknown_asin(client, token):
    answer = client.get(
        "/catalog/2022-04-01/items/B000000000", token=token, params={"marketplaceIds": MARKET}
    )
    assert answer.status == 404
