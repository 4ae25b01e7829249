"""FBA Inventory v1: getInventorySummaries, with a nextToken that dies after 30 seconds."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..hashing import units
from ..world import MARKETPLACES, UNOPENED, Marketplace, Product, Seller, World
from .common import (
    bad_request,
    iso,
    json_response,
    list_param,
    parse_time,
    sign_page,
    sim_of,
    sp_operation,
    unsign_page,
)

PAGE_SIZE = 50
NEXT_TOKEN_LIFETIME = 30
TOKEN_SALT = "simulator.inventory.next"  # noqa: S105 - a signing salt


def inventory_summary(
    world: World,
    seller: Seller,
    product: Product,
    details: bool,
    market: Marketplace | None = None,
) -> dict:
    """FBA stock now: fulfillable follows the listing quantity; the rest is hashed and small
    and changes with the marketplace's local day (`market`, None: the seller's first)."""
    market = market or seller.home
    now = world.clock.now()
    listing = world.listing_at(seller, product, now)
    fulfillable = listing["quantity"]
    day = market.day_of(now).toordinal()
    if market is seller.home:
        u = units(6, world.seed, seller.index, product.index, day, "fba")
    else:
        u = units(6, world.seed, seller.index, product.index, day, market.id, "fba")
    inbound = [int(u[0] * 40) if u[1] < 0.3 else 0, int(u[2] * 30) if u[1] < 0.2 else 0, 0]
    reserved_orders = min(fulfillable, int(u[3] * 5))
    reserved_fc = int(u[4] * 3)
    unfulfillable = int(u[5] * 2)
    total = fulfillable + sum(inbound) + reserved_orders + reserved_fc + unfulfillable
    last_quantity_change = max(
        [product.created] + [c.at for c in product.changes if c.field == "quantity" and c.at <= now]
    )
    summary: dict = {
        "asin": product.asin,
        "fnSku": product.fnsku,
        "sellerSku": product.sku,
        "condition": "NewItem",
        "lastUpdatedTime": iso(last_quantity_change),
        "productName": listing["title"],
        "totalQuantity": total,
    }
    if details:
        summary["inventoryDetails"] = {
            "fulfillableQuantity": fulfillable,
            "inboundWorkingQuantity": inbound[0],
            "inboundShippedQuantity": inbound[1],
            "inboundReceivingQuantity": inbound[2],
            "reservedQuantity": {
                "totalReservedQuantity": reserved_orders + reserved_fc,
                "pendingCustomerOrderQuantity": reserved_orders,
                "pendingTransshipmentQuantity": 0,
                "fcProcessingQuantity": reserved_fc,
            },
            "researchingQuantity": {
                "totalResearchingQuantity": 0,
                "researchingQuantityBreakdown": [
                    {"name": "researchingQuantityInShortTerm", "quantity": 0},
                    {"name": "researchingQuantityInMidTerm", "quantity": 0},
                    {"name": "researchingQuantityInLongTerm", "quantity": 0},
                ],
            },
            "unfulfillableQuantity": {
                "totalUnfulfillableQuantity": unfulfillable,
                "customerDamagedQuantity": unfulfillable,
                "warehouseDamagedQuantity": 0,
                "distributorDamagedQuantity": 0,
                "carrierDamagedQuantity": 0,
                "defectiveQuantity": 0,
                "expiredQuantity": 0,
            },
        }
    return summary


@require_GET
@sp_operation("getInventorySummaries")
def get_inventory_summaries(request: HttpRequest, seller: Seller) -> HttpResponse:
    sim = sim_of(request)
    world = sim.world
    market = request.GET.get("granularityId", "")
    # One of the seller's marketplaces, or one Amazon lists as participating although the
    # seller never opened it (docs#254), which simply holds no stock.
    marketplace = seller.marketplace(market)
    if (
        (marketplace is None and MARKETPLACES.get(market) not in UNOPENED[seller.region])
        or request.GET.get("granularityType") != "Marketplace"
        or list_param(request, "marketplaceIds") != [market]
    ):
        return bad_request(
            "granularityType=Marketplace, granularityId and marketplaceIds are required."
        )
    skus = list_param(request, "sellerSkus")
    if len(skus) > 50:
        return bad_request("sellerSkus takes at most 50 SKUs.")
    if request.GET.get("sellerSku"):
        skus = [request.GET["sellerSku"]]
    offset = 0
    if request.GET.get("nextToken"):
        state = unsign_page(request, request.GET["nextToken"], TOKEN_SALT)
        if state is None or world.clock.now().timestamp() - state["t"] > NEXT_TOKEN_LIFETIME:
            return bad_request("The nextToken is invalid or has expired.")
        offset = state["o"]
    since = parse_time(request.GET["startDateTime"]) if request.GET.get("startDateTime") else None
    if request.GET.get("startDateTime") and since is None:
        return bad_request("startDateTime is an ISO 8601 date-time.")
    chosen = [p for p in map(seller.product, skus) if p is not None] if skus else seller.products
    # Only what is offered in that marketplace.
    candidates = [p for p in chosen if p.fba and marketplace and seller.offers(p, marketplace)]
    details = request.GET.get("details", "false").lower() == "true"
    summaries = []
    position = offset
    for position in range(offset, len(candidates)):
        summary = inventory_summary(world, seller, candidates[position], details, marketplace)
        if since and parse_time(summary["lastUpdatedTime"]) < since:
            continue
        summaries.append(summary)
        if len(summaries) == PAGE_SIZE:
            break
    body: dict = {
        "payload": {
            "granularity": {"granularityType": "Marketplace", "granularityId": market},
            "inventorySummaries": summaries,
        }
    }
    if position + 1 < len(candidates) and len(summaries) == PAGE_SIZE:
        token = sign_page(
            request, {"o": position + 1, "t": world.clock.now().timestamp()}, TOKEN_SALT
        )
        body["pagination"] = {"nextToken": token}
    return json_response(body)
