"""The detail page lags the seller's edits, and sometimes never shows them (catalog_lag)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cvrtracker.simulator.catalog_lag import CatalogLag, catalog_listing_at
from cvrtracker.simulator.testing import TEST_TODAY
from cvrtracker.simulator.world import World

from .conftest import MARKET, advance

LISTING_DATA = "summaries,attributes"


def _listing(client, token, seller, sku):
    return client.get(
        f"/listings/2021-08-01/items/{seller.id}/{sku}",
        token=token,
        params={"marketplaceIds": MARKET, "includedData": LISTING_DATA},
    ).json()


def _catalog(client, token, asin):
    return client.get(
        f"/catalog/2022-04-01/items/{asin}",
        token=token,
        params={"marketplaceIds": MARKET, "includedData": "attributes,images,summaries"},
    ).json()


def _change(client, seller, sku, **body):
    answer = client.post(f"/_sim/sellers/{seller.id}/listings/{sku}", json_body=body)
    assert answer.status == 200, answer.body
    return answer.json()


def test_a_title_edit_shows_in_the_attributes_at_once_and_in_the_catalog_later(
    client, token, seller
):
    product = seller.products[12]
    old_title = _catalog(client, token, product.asin)["summaries"][0]["itemName"]
    change = _change(
        client, seller, product.sku, field="title", value="Edited Title", catalogDelaySeconds=7200
    )
    assert change["reachesCatalog"] is True
    listing = _listing(client, token, seller, product.sku)
    assert listing["attributes"]["item_name"][0]["value"] == "Edited Title"
    # summaries.itemName is the catalog item's name (the model), so it waits too.
    assert listing["summaries"][0]["itemName"] == old_title
    catalog = _catalog(client, token, product.asin)
    assert catalog["summaries"][0]["itemName"] == old_title
    assert catalog["attributes"]["item_name"][0]["value"] == old_title
    advance(client, seconds=7200)
    token = client.access_token(seller.id)  # the old one lived an hour
    assert _catalog(client, token, product.asin)["summaries"][0]["itemName"] == "Edited Title"
    assert _listing(client, token, seller, product.sku)["summaries"][0]["itemName"] == (
        "Edited Title"
    )
    truth = client.get("/_sim/ground-truth", params={"sellerId": seller.id}).json()["changes"]
    row = next(t for t in truth if t["sku"] == product.sku and t["new"] == "Edited Title")
    # Two hours after the edit (the control answer drops the microseconds).
    assert row["catalogAt"][:19] == change["catalogAt"][:19] != row["at"][:19]


def test_an_image_edit_that_loses_never_reaches_the_catalog(client, token, seller):
    product = seller.products[13]
    main = _catalog(client, token, product.asin)["images"][0]["images"][0]["link"]
    change = _change(client, seller, product.sku, field="image", variant="MAIN", loses=True)
    assert change["reachesCatalog"] is False and change["catalogAt"] is None
    listing = _listing(client, token, seller, product.sku)
    own = listing["attributes"]["main_product_image_locator"][0]["media_location"]
    assert own.endswith(change["new"] + ".jpg") and own != main
    advance(client, days=30)
    token = client.access_token(seller.id)
    assert _catalog(client, token, product.asin)["images"][0]["images"][0]["link"] == main
    assert _listing(client, token, seller, product.sku)["summaries"][0]["mainImage"]["link"] == main
    truth = client.get("/_sim/ground-truth", params={"sellerId": seller.id}).json()["changes"]
    row = next(t for t in truth if t["sku"] == product.sku)
    assert row["reachesCatalog"] is False and row["catalogAt"] is None
    assert row["effectiveDate"] is None


def test_another_contributors_change_shows_in_the_catalog_only(client, token, seller):
    product = seller.products[14]
    own_title = _listing(client, token, seller, product.sku)["attributes"]["item_name"][0]["value"]
    _change(client, seller, product.sku, field="title", value="Amazon's Title", by="contributor")
    assert _catalog(client, token, product.asin)["summaries"][0]["itemName"] == "Amazon's Title"
    listing = _listing(client, token, seller, product.sku)
    assert listing["attributes"]["item_name"][0]["value"] == own_title
    assert listing["summaries"][0]["itemName"] == "Amazon's Title"


def test_the_control_api_refuses_catalog_options_on_offer_fields(client, seller):
    answer = client.post(
        f"/_sim/sellers/{seller.id}/listings/{seller.products[15].sku}",
        json_body={"field": "price", "value": "9.99", "loses": True},
    )
    assert answer.status == 400
    negative = client.post(
        f"/_sim/sellers/{seller.id}/listings/{seller.products[15].sku}",
        json_body={"field": "title", "value": "X", "catalogDelaySeconds": -1},
    )
    assert negative.status == 400


def test_delays_and_losing_edits_are_drawn_from_the_seed_within_the_options():
    def timings(seed):
        world = World(seed=seed, asins=20, today=TEST_TODAY)
        seller, product = world.sellers[0], world.sellers[0].products[15]
        at = world.clock.now()
        changes = [
            world.add_change(seller, product, name="title", value=f"T{k}", at=at + timedelta(k))
            for k in range(400)
        ]
        return [(c.catalog_at and c.catalog_at - c.at, c.loses) for c in changes]

    first = timings(5)
    assert first == timings(5)
    delays = [d for d, loses in first if not loses]
    assert min(delays) >= timedelta(hours=3) and max(delays) <= timedelta(hours=48)
    assert max(delays) - min(delays) > timedelta(hours=24)
    assert 0.02 < sum(1 for _, loses in first if loses) / 400 < 0.09


def test_the_catalog_options_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SIM_CATALOG_DELAY_MIN_HOURS", "0")
    monkeypatch.setenv("SIM_CATALOG_DELAY_MAX_HOURS", "0")
    monkeypatch.setenv("SIM_CATALOG_LOSING_SHARE", "0")
    world = World(seed=5, asins=20, today=TEST_TODAY)
    assert world.catalog_lag == CatalogLag(0, 0, 0)
    seller, product = world.sellers[0], world.sellers[0].products[15]
    change = world.add_change(seller, product, name="title", value="Now", at=world.clock.now())
    assert change.catalog_at == change.at and not change.loses
    assert catalog_listing_at(world, seller, product, world.clock.now())["title"] == "Now"
    monkeypatch.setenv("SIM_CATALOG_LOSING_SHARE", "2")
    with pytest.raises(ValueError):
        CatalogLag.from_env()


def test_conversion_follows_the_detail_page_not_the_seller_edit():
    world = World(seed=5, asins=20, today=TEST_TODAY)
    seller = world.sellers[0]
    late, lost = seller.products[15], seller.products[16]
    at = world.clock.now() - timedelta(days=10)
    world.add_change(
        seller, late, name="title", value="A", at=at, effect=1.5, catalog_delay=timedelta(days=2)
    )
    world.add_change(seller, lost, name="title", value="B", at=at, effect=1.5, loses=True)
    edit_day = at.date()
    assert world.state_on(late, edit_day + timedelta(days=1)).effect == 1.0
    assert world.state_on(late, edit_day + timedelta(days=2)).effect == 1.5
    assert world.state_on(lost, edit_day + timedelta(days=9)).effect == 1.0
