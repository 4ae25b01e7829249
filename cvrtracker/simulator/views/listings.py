"""Listings Items 2021-08-01: getListingsItem and searchListingsItems."""

from __future__ import annotations

import base64
import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..catalog_lag import catalog_listing_at
from ..world import Marketplace, Product, Seller, World, is_suppressing
from .common import (
    bad_request,
    included_param,
    int_param,
    iso,
    json_response,
    list_param,
    not_found,
    parse_time,
    requested_marketplaces,
    seller_matches,
    sim_of,
    sp_operation,
)

INCLUDED_DATA = (
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
)
IDENTIFIER_TYPES = ("ASIN", "EAN", "FNSKU", "GTIN", "ISBN", "JAN", "MINSAN", "SKU", "UPC")
# The model (ItemSearchResults.numberOfResults): "The maximum number of items
# (SKUs) that can be returned and paged through is 1000." numberOfResults
# still counts every match; paging simply ends at the 1,000th.
SEARCH_CAP = 1000


def listing_status(listing: dict) -> list[str]:
    """BUYABLE: active, unsuppressed and in stock; DISCOVERABLE: active and unsuppressed."""
    if listing["status"] != "ACTIVE" or is_suppressing(listing["issue"]):
        return []
    return ["BUYABLE", "DISCOVERABLE"] if listing["quantity"] > 0 else ["DISCOVERABLE"]


def image_link(base_url: str, image_id: str) -> str:
    return f"{base_url}/images/I/{image_id}.jpg"


def fba_channel(seller: Seller) -> str:
    """The FBA fulfilment channel code of the seller's region (as in the listings report)."""
    return "AMAZON_NA" if seller.region == "NA" else "AMAZON_EU"


def listing_item(
    world: World,
    seller: Seller,
    product: Product,
    included: list[str],
    base_url: str,
    markets: list[Marketplace] | None = None,
) -> dict:
    """An `Item` of the Listings model as the listing stands at the simulated now, in each of
    `markets` (None: the seller's first), in its language, currency and local price.

    `attributes` are the seller's own submission (they change at once);
    `summaries.itemName` and `mainImage` are the catalog item's, as the model
    defines them, so they show an edit only once the detail page does.
    """
    markets = markets or [seller.home]
    now = world.clock.now()
    listing = world.listing_at(seller, product, now)
    shown = catalog_listing_at(world, seller, product, now)
    # The price the merchant listings report and that marketplace's orders use.
    prices = {m.id: f"{seller.local_price(listing['price_cents'], m) / 100:.2f}" for m in markets}
    item: dict = {"sku": product.sku}

    def text(value: str) -> list[dict]:
        return [
            {"value": value, "language_tag": m.language, "marketplace_id": m.id} for m in markets
        ]

    def each(**value: object) -> list[dict]:
        return [{**value, "marketplace_id": m.id} for m in markets]

    if "summaries" in included:
        summary = {
            "asin": product.asin,
            "productType": product.category.product_type,
            "conditionType": "new_new",
            "status": listing_status(listing),
            "itemName": shown["title"],
            "createdDate": iso(product.created),
            "lastUpdatedDate": iso(listing["last_updated"]),
            "mainImage": {
                "link": image_link(base_url, shown["images"]["MAIN"]),
                "height": 1500,
                "width": 1500,
            },
        }
        if product.fba:
            summary["fnSku"] = product.fnsku
        item["summaries"] = [{"marketplaceId": m.id, **summary} for m in markets]
    if "attributes" in included:
        copy = listing["copy"]
        attributes = {
            "item_name": text(listing["title"]),
            "brand": text(product.brand),
            "bullet_point": [v for b in listing["bullets"] for v in text(b)],
            "product_description": text(listing["description"]),
            "color": text(copy["color"]),
            "size": text(copy["size"]),
            "material": text(copy["material"]),
            "condition_type": each(value="new_new"),
            "main_product_image_locator": each(
                media_location=image_link(base_url, listing["images"]["MAIN"])
            ),
            "purchasable_offer": [
                {
                    "currency": m.currency,
                    "audience": "ALL",
                    "our_price": [{"schedule": [{"value_with_tax": float(prices[m.id])}]}],
                    "marketplace_id": m.id,
                }
                for m in markets
            ],
            "fulfillment_availability": [
                {"fulfillment_channel_code": fba_channel(seller)}
                if product.fba
                else {"fulfillment_channel_code": "DEFAULT", "quantity": listing["quantity"]}
            ],
        }
        for variant, image_id in listing["images"].items():
            if variant != "MAIN":
                attributes[f"other_product_image_locator_{int(variant[2:])}"] = each(
                    media_location=image_link(base_url, image_id)
                )
        item["attributes"] = attributes
    if "issues" in included:
        item["issues"] = [listing["issue"]] if listing["issue"] else []
    if "offers" in included:
        item["offers"] = [
            {
                "marketplaceId": m.id,
                "offerType": "B2C",
                "price": {"currencyCode": m.currency, "amount": prices[m.id]},
            }
            for m in markets
        ]
    if "fulfillmentAvailability" in included:
        item["fulfillmentAvailability"] = [
            {"fulfillmentChannelCode": fba_channel(seller)}
            if product.fba
            else {"fulfillmentChannelCode": "DEFAULT", "quantity": listing["quantity"]}
        ]
    if "productTypes" in included:
        item["productTypes"] = [
            {"marketplaceId": m.id, "productType": product.category.product_type} for m in markets
        ]
    if "relationships" in included:
        item["relationships"] = [{"marketplaceId": m.id, "relationships": []} for m in markets]
    if "procurement" in included:
        item["procurement"] = []
    return item


def offered_in(seller: Seller, product: Product, markets: list[Marketplace]) -> list[Marketplace]:
    """The requested marketplaces that list `product` (seller.offers)."""
    return [m for m in markets if seller.offers(product, m)]


@require_GET
@sp_operation("getListingsItem")
def get_listings_item(
    request: HttpRequest, seller: Seller, seller_id: str, sku: str
) -> HttpResponse:
    refused = seller_matches(seller, seller_id)
    if refused:
        return refused
    sim = sim_of(request)
    included = included_param(request, INCLUDED_DATA)
    markets = requested_marketplaces(request, seller)
    if included is None or markets is None:
        return bad_request("Invalid includedData or marketplaceIds.")
    product = seller.product(sku)
    # A SKU the seller lists only elsewhere is as unknown here as one it never had.
    offered = offered_in(seller, product, markets) if product else []
    if not offered:
        where = ",".join(m.id for m in markets)
        return not_found(f"SKU '{sku}' not found in marketplace {where}", code="NOT_FOUND")
    return json_response(
        listing_item(sim.world, seller, product, included, sim.base_url, offered)  # type: ignore[arg-type]
    )


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def page_offset(token: str) -> int | None:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
    except (ValueError, KeyError, TypeError):
        return None


@require_GET
@sp_operation("searchListingsItems")
def search_listings_items(request: HttpRequest, seller: Seller, seller_id: str) -> HttpResponse:
    refused = seller_matches(seller, seller_id)
    if refused:
        return refused
    sim = sim_of(request)
    world = sim.world
    included = included_param(request, INCLUDED_DATA)
    page_size = int_param(request, "pageSize", 10, 20)
    markets = requested_marketplaces(request, seller)
    if included is None or markets is None or page_size is None:
        return bad_request("Invalid includedData, marketplaceIds or pageSize.")
    identifiers = list_param(request, "identifiers")
    id_type = request.GET.get("identifiersType", "")
    if (
        len(identifiers) > 20
        or bool(identifiers) != bool(id_type)
        or (id_type and id_type not in IDENTIFIER_TYPES)
    ):
        return bad_request("identifiers and identifiersType go together (at most 20 identifiers).")
    now = world.clock.now()
    products = [p for p in seller.products if offered_in(seller, p, markets)]
    if identifiers:
        wanted = set(identifiers)
        if id_type == "SKU":
            products = [
                p
                for p in map(seller.product, dict.fromkeys(identifiers))
                if p and offered_in(seller, p, markets)
            ]
        else:
            # The simulated products have no EAN, GTIN, ISBN, JAN, MINSAN or UPC.
            attr = {"ASIN": "asin", "FNSKU": "fnsku"}.get(id_type)
            products = [p for p in products if attr and getattr(p, attr) in wanted]
    with_status = set(list_param(request, "withStatus"))
    without_status = set(list_param(request, "withoutStatus"))
    updated_after = parse_time(request.GET.get("lastUpdatedAfter", "") or "1970-01-01")
    if with_status or without_status or request.GET.get("lastUpdatedAfter"):
        kept = []
        for p in products:
            listing = world.listing_at(seller, p, now)
            status = set(listing_status(listing))
            if with_status and not with_status <= status:
                continue
            if without_status & status:
                continue
            if updated_after and listing["last_updated"] <= updated_after:
                continue
            kept.append(p)
        products = kept
    sort_by = request.GET.get("sortBy", "lastUpdatedDate")
    descending = request.GET.get("sortOrder", "DESC") == "DESC"
    if sort_by == "sku":
        products = sorted(products, key=lambda p: p.sku, reverse=descending)
    elif sort_by == "createdDate":
        products = sorted(products, key=lambda p: (p.created, p.sku), reverse=descending)
    else:
        products = sorted(
            products,
            key=lambda p: (max([p.created] + [c.at for c in p.changes if c.at <= now]), p.sku),
            reverse=descending,
        )
    offset = 0
    if request.GET.get("pageToken"):
        offset = page_offset(request.GET["pageToken"])
        if offset is None or not 0 <= offset < SEARCH_CAP:
            return bad_request("Invalid pageToken.")
    reachable = products[:SEARCH_CAP]
    page = reachable[offset : offset + page_size]
    pagination = {}
    if offset + page_size < len(reachable):
        pagination["nextToken"] = page_token(offset + page_size)
    if offset > 0:
        pagination["previousToken"] = page_token(max(0, offset - page_size))
    body: dict = {
        "numberOfResults": len(products),
        "items": [
            listing_item(world, seller, p, included, sim.base_url, offered_in(seller, p, markets))
            for p in page
        ],
    }
    if pagination:
        body["pagination"] = pagination
    return json_response(body)
