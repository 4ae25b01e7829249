"""Catalog Items 2022-04-01: getCatalogItem and searchCatalogItems."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..catalog_lag import catalog_listing_at
from ..hashing import unit
from ..world import Marketplace, Product, Seller, World
from .common import (
    bad_request,
    included_param,
    int_param,
    json_response,
    list_param,
    not_found,
    requested_marketplaces,
    sim_of,
    sp_operation,
)
from .listings import image_link, page_offset, page_token

INCLUDED_DATA = (
    "attributes",
    "classifications",
    "dimensions",
    "identifiers",
    "images",
    "productTypes",
    "relationships",
    "salesRanks",
    "summaries",
    "vendorDetails",
)


def sales_rank(world: World, seller: Seller, product: Product, market: Marketplace) -> int:
    """A rank that follows the product's sales of the last seven local days of `market`:
    more units, smaller number."""
    day = world.today(market)
    sold = sum(
        world.day_stats(seller, product, day.fromordinal(day.toordinal() - k), market).units
        for k in range(1, 8)
    )
    if market is seller.home:
        noise = unit(world.seed, seller.index, product.index, "rank")
    else:
        noise = unit(world.seed, seller.index, product.index, market.id, "rank")
    return max(1, int(250_000 / (1 + sold) * (0.8 + 0.4 * noise)))


def catalog_item(
    world: World,
    seller: Seller,
    product: Product,
    included: list[str],
    base: str,
    marketplace: Marketplace | None = None,
) -> dict:
    """An `Item` of the Catalog model: the detail page in `marketplace` (None: the seller's
    first), where a seller's edit shows late or never (see catalog_lag)."""
    listing = catalog_listing_at(world, seller, product, world.clock.now())
    marketplace = marketplace or seller.home
    market = marketplace.id
    lang = marketplace.language
    # The local price of the merchant listings report and of the orders there.
    price_cents = seller.local_price(listing["price_cents"], marketplace)
    cat = product.category
    item: dict = {"asin": product.asin}

    def text(value: str) -> dict:
        return {"value": value, "language_tag": lang, "marketplace_id": market}

    if "attributes" in included:
        item["attributes"] = {
            "item_name": [text(listing["title"])],
            "brand": [text(product.brand)],
            "bullet_point": [text(b) for b in listing["bullets"]],
            "product_description": [text(listing["description"])],
            "color": [text(listing["copy"]["color"])],
            "size": [text(listing["copy"]["size"])],
            "list_price": [
                {
                    "value": round(price_cents / 100, 2),
                    "currency": marketplace.currency,
                    "marketplace_id": market,
                }
            ],
        }
    if "classifications" in included:
        item["classifications"] = [
            {
                "marketplaceId": market,
                "classifications": [
                    {"displayName": cat.browse_name, "classificationId": cat.browse_id}
                ],
            }
        ]
    if "identifiers" in included:
        item["identifiers"] = [
            {
                "marketplaceId": market,
                "identifiers": [
                    {"identifierType": "UPC", "identifier": str(int(product.fnsku[3:], 36))[-12:]}
                ],
            }
        ]
    if "images" in included:
        item["images"] = [
            {
                "marketplaceId": market,
                "images": [
                    {
                        "variant": variant,
                        "link": image_link(base, image_id),
                        "height": 1500,
                        "width": 1500,
                    }
                    for variant, image_id in listing["images"].items()
                ],
            }
        ]
    if "productTypes" in included:
        item["productTypes"] = [{"marketplaceId": market, "productType": cat.product_type}]
    if "relationships" in included:
        relationships = []
        if product.parent_asin != product.asin:
            relationships.append({"type": "VARIATION", "parentAsins": [product.parent_asin]})
        item["relationships"] = [{"marketplaceId": market, "relationships": relationships}]
    if "salesRanks" in included:
        item["salesRanks"] = [
            {
                "marketplaceId": market,
                "classificationRanks": [
                    {
                        "classificationId": cat.browse_id,
                        "title": cat.browse_name,
                        "rank": sales_rank(world, seller, product, marketplace),
                    }
                ],
            }
        ]
    if "summaries" in included:
        item["summaries"] = [
            {
                "marketplaceId": market,
                "brand": product.brand,
                "browseClassification": {
                    "displayName": cat.browse_name,
                    "classificationId": cat.browse_id,
                },
                "color": listing["copy"]["color"],
                "itemClassification": "BASE_PRODUCT",
                "itemName": listing["title"],
                "manufacturer": product.brand,
                "size": listing["copy"]["size"],
                "websiteDisplayGroup": cat.product_type.lower() + "_display_on_website",
                "websiteDisplayGroupName": cat.browse_name,
            }
        ]
    if "dimensions" in included:
        item["dimensions"] = [{"marketplaceId": market}]
    if "vendorDetails" in included:
        item["vendorDetails"] = []
    return item


def _marketplace(request: HttpRequest, seller: Seller) -> Marketplace | None:
    """The one marketplace of the request, when the seller sells there (the model's
    searchCatalogItems takes at most one; sp-api-semantics.md §6: one marketplace per call)."""
    markets = requested_marketplaces(request, seller, at_most=1)
    return markets[0] if markets else None


def _invalid() -> HttpResponse:
    return bad_request("Request has missing or invalid parameters and cannot be parsed.", "400")


def _not_sold_there() -> HttpResponse:
    # As createReport answers for a marketplace the seller does not sell in.
    return bad_request("The seller does not sell in the requested marketplaces.")


@require_GET
@sp_operation("getCatalogItem")
def get_catalog_item(request: HttpRequest, seller: Seller, asin: str) -> HttpResponse:
    sim = sim_of(request)
    included = included_param(request, INCLUDED_DATA)
    ids = list_param(request, "marketplaceIds")
    if included is None or len(ids) != 1:
        return _invalid()
    market = _marketplace(request, seller)
    if market is None:
        return _not_sold_there()
    product = seller.product_by_asin(asin)
    if product is None or not seller.offers(product, market):
        return not_found(f"Requested item '{asin}' not found in marketplace {market.id}.")
    return json_response(catalog_item(sim.world, seller, product, included, sim.base_url, market))


@require_GET
@sp_operation("searchCatalogItems")
def search_catalog_items(request: HttpRequest, seller: Seller) -> HttpResponse:
    """Search this seller's products by identifiers (at most 20) or keywords in titles."""
    sim = sim_of(request)
    world = sim.world
    included = included_param(request, INCLUDED_DATA)
    identifiers = list_param(request, "identifiers")
    keywords = list_param(request, "keywords")
    page_size = int_param(request, "pageSize", 10, 20)
    id_type = request.GET.get("identifiersType", "")
    if (
        included is None
        or page_size is None
        or len(list_param(request, "marketplaceIds")) != 1
        or bool(identifiers) == bool(keywords)
        or len(identifiers) > 20
        or (identifiers and id_type not in ("ASIN", "SKU"))
    ):
        return _invalid()
    market = _marketplace(request, seller)
    if market is None:
        return _not_sold_there()
    if identifiers:
        finder = seller.product_by_asin if id_type == "ASIN" else seller.product
        found = [p for p in map(finder, identifiers) if p is not None]
    else:
        words = [k.lower() for k in keywords]
        now = world.clock.now()
        found = [
            p
            for p in seller.products
            if all(w in catalog_listing_at(world, seller, p, now)["title"].lower() for w in words)
        ]
    # Only what is offered in that marketplace.
    found = [p for p in found if seller.offers(p, market)]
    offset = 0
    if request.GET.get("pageToken"):
        offset = page_offset(request.GET["pageToken"])
        if offset is None:
            return _invalid()
    page = found[offset : offset + page_size]
    body: dict = {
        "numberOfResults": len(found),
        "items": [catalog_item(world, seller, p, included, sim.base_url, market) for p in page],
    }
    pagination = {}
    if offset + page_size < len(found):
        pagination["nextToken"] = page_token(offset + page_size)
    if offset:
        pagination["previousToken"] = page_token(max(0, offset - page_size))
    if pagination:
        body["pagination"] = pagination
    if keywords:
        brands: dict[str, int] = {}
        for p in found:
            brands[p.brand] = brands.get(p.brand, 0) + 1
        body["refinements"] = {
            "brands": [{"numberOfResults": n, "brandName": b} for b, n in sorted(brands.items())],
            "classifications": [],
        }
    return json_response(body)
