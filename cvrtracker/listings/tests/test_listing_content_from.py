"""listing_content_from: real simulator listings and catalog items, and Amazon's samples."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from cvrtracker.listings.normalize import listing_content_from
from cvrtracker.metrics.tests.helpers import MARKET, sim_payloads

SAMPLES = Path(settings.SPECS_DIR) / "sp-api-samples"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def test_it_maps_a_simulator_listing_and_its_catalog_item():
    item = sim_payloads()["items"][0]
    summary = item["summaries"][0]
    catalog = sim_payloads()["catalog"][summary["asin"]]
    content = listing_content_from(item, catalog)
    assert set(content) == {
        "title",
        "bullets",
        "description",
        "images",
        "price",
        "fba_quantity",
        "mfn_quantity",
        "status",
        "issues",
        "brand",
        "product_type",
    }
    assert content["title"] == summary["itemName"]
    assert content["bullets"] == [b["value"] for b in catalog["attributes"]["bullet_point"]]
    assert content["description"] == catalog["attributes"]["product_description"][0]["value"]
    assert content["images"][0] == {"variant": "MAIN", "link": summary["mainImage"]["link"]}
    assert [i["variant"] for i in content["images"]] == [
        i["variant"] for i in catalog["images"][0]["images"]
    ]
    assert content["price"] == {"amount": item["offers"][0]["price"]["amount"], "currency": "USD"}
    assert content["status"] == sorted(summary["status"])
    assert content["brand"] == catalog["summaries"][0]["brand"]
    # The catalog was asked without productTypes: the listing's own product type.
    assert content["product_type"] == summary["productType"]


def test_without_a_catalog_item_it_falls_back_to_the_listing():
    item = sim_payloads()["items"][0]
    content = listing_content_from(item, None, marketplace_id=MARKET)
    assert content["bullets"] == [b["value"] for b in item["attributes"]["bullet_point"]]
    assert content["images"][0]["link"] == item["summaries"][0]["mainImage"]["link"]
    assert len(content["images"]) >= 2


def test_merchant_and_fba_quantities_are_told_apart():
    items = sim_payloads()["items"]
    channels = {
        (i["fulfillmentAvailability"] or [{}])[0].get("fulfillmentChannelCode") for i in items
    }
    assert "DEFAULT" in channels
    for item in items:
        content = listing_content_from(item, None)
        (availability,) = item["fulfillmentAvailability"]
        if availability["fulfillmentChannelCode"] == "DEFAULT":
            assert content["mfn_quantity"] == availability.get("quantity")
        else:
            assert content["mfn_quantity"] is None


def test_issues_keep_code_severity_message_and_enforcement():
    item = sample("amzn-samples_listingsItems_getListingsItem_powersports_issue_enforcement.json")
    content = listing_content_from(item, None)
    assert content["issues"] == [
        {
            "code": "90220",
            "severity": "ERROR",
            "message": "Department Name is required but was not provided.",
            "enforcement": ["SEARCH_SUPPRESSED"],
        }
    ]
    assert content["mfn_quantity"] == 5


def test_the_consumer_price_wins_over_the_business_price():
    item = sample("amzn-samples_listingsItems_getListingsItem_bicycle_offers_b2b_issue.json")
    content = listing_content_from(item, None)
    assert content["price"] == {"amount": "800.00", "currency": "USD"}
    assert content["issues"][0]["enforcement"] == []


def test_catalog_thumbnails_are_dropped():
    catalog = sample("amzn-samples_catalogItems_getCatalogItem_BR.json")
    item = sample("amzn-samples_listingsItems_getListingsItem_minimal_handmade.json")
    content = listing_content_from(item, catalog)
    assert content["images"] == [
        {"variant": "MAIN", "link": "https://m.media-amazon.com/images/I/41j-L-teihL.jpg"},
        {"variant": "PT01", "link": "https://m.media-amazon.com/images/I/31Xp9r0oyoL.jpg"},
    ]
    assert content["bullets"] == ["Blusão moletom com capuz plus size"]
    assert content["title"] == "Sample Product Title"


def test_brand_and_product_type_come_from_the_catalog_when_it_gives_them():
    item = sample("amzn-samples_listingsItems_getListingsItem_powersports_issue_enforcement.json")
    catalog = {
        "asin": "B0FFR5DH5P",
        "summaries": [{"marketplaceId": "ATVPDKIKX0DER", "brand": "Moto Parts Co"}],
        "productTypes": [{"marketplaceId": "ATVPDKIKX0DER", "productType": "VEHICLE_PART"}],
    }
    content = listing_content_from(item, catalog)
    assert (content["brand"], content["product_type"]) == ("Moto Parts Co", "VEHICLE_PART")
    # Without a catalog item: no brand (the listing's own is the seller's, not the detail
    # page's), and the product type of the listing's summary.
    content = listing_content_from(item, None)
    assert "brand" not in content
    assert content["product_type"] == "POWERSPORTS_PROTECTIVE_GEAR"


def test_a_catalog_item_without_summaries_gives_its_brand_attribute():
    catalog = sample("amzn-samples_catalogItems_getCatalogItem_BR.json")
    item = sample("amzn-samples_listingsItems_getListingsItem_minimal_handmade.json")
    content = listing_content_from(item, catalog)
    assert content["brand"] == "Debex"
