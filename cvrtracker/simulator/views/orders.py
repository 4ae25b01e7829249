"""Orders 2026-01-01: searchOrders and getOrder, derived from the same daily units as reports.

Each product-day's units become single-item orders (a few with two units), created
within that marketplace-local day, so the orders of a local day add up to the Sales &
Traffic units of that day. The first pulls of a day count units later cancelled or
returned (World.day_stats with as_of): those are extra one-unit orders that turn
CANCELLED on the day the report stops counting them, so the orders of a day that
were not cancelled before day A began add up to that day's units in a report asked
on A. Order ids encode (marketplace, seller, day, product, n) and carry a check, so
getOrder needs no index. No buyer or recipient data is ever returned, whatever
includedData asks for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from ..hashing import unit, units
from ..world import (
    HISTORY_DAYS,
    MARKETPLACES,
    REVISION_DAYS,
    Marketplace,
    Seller,
    World,
    cancel_offset,
)
from .common import (
    bad_request,
    iso,
    json_response,
    list_param,
    not_found,
    parse_time,
    sign_page,
    sim_of,
    sp_operation,
    unsign_page,
)

EPOCH = date(2020, 1, 1)
PAGE_SALT = "simulator.orders.page"
STATUSES = (
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
)


def _check(world: World, body: str) -> int:
    return int(unit(world.seed, body, "order-check") * 100)


def _keyed(prefix: str, body: str) -> str:
    # US ids (prefix 11) keep the check they had when the simulator knew only the US.
    return body if prefix == "11" else prefix + body


def order_id(
    world: World, seller: Seller, market: Marketplace, day: date, index: int, n: int
) -> str:
    body = f"{seller.index}{(day - EPOCH).days:04d}{index:05d}{n:03d}"
    digits = f"{market.order_prefix}{body}{_check(world, _keyed(market.order_prefix, body)):02d}"
    return f"{digits[:3]}-{digits[3:10]}-{digits[10:]}"


_BY_PREFIX = {m.order_prefix: m for m in MARKETPLACES.values()}


def parse_order_id(world: World, raw: str) -> tuple[Marketplace, int, date, int, int] | None:
    """(marketplace, seller index, day, product index, n) of one of our order ids, or None."""
    digits = raw.replace("-", "")
    if len(digits) != 17 or not digits.isdigit() or digits[:2] not in _BY_PREFIX:
        return None
    body, check = digits[2:15], int(digits[15:])
    if _check(world, _keyed(digits[:2], body)) != check:
        return None
    market = _BY_PREFIX[digits[:2]]
    return (
        market,
        int(body[0]),
        EPOCH + timedelta(days=int(body[1:5])),
        int(body[5:10]),
        int(body[10:13]),
    )


@dataclass(frozen=True, slots=True)
class Line:
    """One order of a product-day: its number, quantity and, for an order that will be
    cancelled or returned, the day (after the order's) it is cancelled on."""

    n: int
    quantity: int
    cancelled_after: int | None


def order_lines(
    world: World, seller: Seller, market: Marketplace, index: int, day: date
) -> Iterator[Line]:
    """Every order of product `index` on the local `day`, cancelled ones included."""
    # Read on the day itself: every unit ordered, including those later cancelled.
    stats = world.day_stats(seller, seller.products[index], day, market, day)
    doubles = stats.units - stats.order_items
    kept = stats.order_items - stats.pending_units
    day_ord = day.toordinal()
    for n in range(stats.order_items):
        later = cancel_offset(n - kept, stats.pending_units, day_ord, index) if n >= kept else None
        yield Line(n, 2 if n < doubles else 1, later)


def _orders_of_day(
    world: World, seller: Seller, market: Marketplace, day: date
) -> Iterator[tuple[int, Line]]:
    """(product index, line) for every order placed on the marketplace's local `day`."""
    for product in seller.products:
        if seller.offers(product, market):
            for line in order_lines(world, seller, market, product.index, day):
                yield product.index, line


def order_json(
    world: World,
    seller: Seller,
    market: Marketplace,
    day: date,
    index: int,
    line: Line,
    included: set,
) -> dict | None:
    """The order as it stands at the simulated now; None if it is not placed yet."""
    product = seller.products[index]
    n, quantity = line.n, line.quantity
    now = world.clock.now()
    u = units(3, world.seed, seller.index, index, day.toordinal(), n, "order")
    start = market.day_start(day)
    length = (market.day_start(day + timedelta(days=1)) - start).total_seconds()
    created = start + timedelta(seconds=int(u[0] * (length - 1)))
    if created > now:
        return None
    shipped = created + timedelta(hours=6 + int(u[1] * 30))
    is_shipped = shipped <= now
    updated = shipped if is_shipped else created
    status = "SHIPPED" if is_shipped else "UNSHIPPED"
    if line.cancelled_after is not None:
        cancelled = market.day_start(day + timedelta(days=line.cancelled_after)) + timedelta(
            hours=2 + int(u[2] * 18)
        )
        if cancelled <= now:
            status, updated = "CANCELLED", cancelled
    price = seller.local_price(world.state_on(product, day, market).price_cents, market)
    currency = market.currency
    oid = order_id(world, seller, market, day, index, n)
    item: dict = {
        "orderItemId": f"{int(u[2] * 1e14):014d}",
        "quantityOrdered": quantity,
        "product": {
            "asin": product.asin,
            "title": world.listing_at(seller, product, created)["title"],
            "sellerSku": product.sku,
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
            "price": {"unitPrice": {"amount": f"{price / 100:.2f}", "currencyCode": currency}},
        },
    }
    order: dict = {
        "orderId": oid,
        "createdTime": iso(created),
        "lastUpdatedTime": iso(updated),
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": market.id,
            "marketplaceName": market.name,
        },
        "orderItems": [item],
    }
    total = {"amount": f"{price * quantity / 100:.2f}", "currencyCode": currency}
    if "PROCEEDS" in included:
        order["proceeds"] = {"grandTotal": total}
        item["proceeds"] = {
            "proceedsTotal": total,
            "breakdowns": [{"type": "ITEM", "subtotal": total}],
        }
    if "FULFILLMENT" in included:
        order["fulfillment"] = {
            "fulfillmentStatus": status,
            "fulfilledBy": "AMAZON" if product.fba else "MERCHANT",
            "fulfillmentServiceLevel": "STANDARD",
        }
        item["fulfillment"] = {
            "quantityFulfilled": quantity if status == "SHIPPED" else 0,
            "quantityUnfulfilled": quantity if status == "UNSHIPPED" else 0,
        }
    # Filters need these even when FULFILLMENT was not asked for.
    order["_status"] = status
    order["_by"] = "AMAZON" if product.fba else "MERCHANT"
    order["_created"], order["_updated"] = created, updated
    return order


def _public(order: dict) -> dict:
    return {k: v for k, v in order.items() if not k.startswith("_")}


# Amazon's answer to a token sent alone, with other parameters, or after it expired
# (models#5144, amzn/selling-partner-api-sdk#717).
STALE_TOKEN = (
    "The paginationToken you have submitted is not valid. "  # noqa: S105 - a message
    "All parameters must match the original request except maxResultsPerPage"
)
# Amazon's answer to a createdBefore/lastUpdatedBefore later than two minutes ago
# (the model: "at least two minutes before the time of the request"; airbyte PR #52592).
TOO_RECENT = "The most updated data is 2 minutes after an order is created or last updated"
# The model's Pagination: "The token will expire after 24 hours."
TOKEN_LIFETIME = timedelta(hours=24)
# The newest moment searchOrders may be asked about, relative to the request.
FRESHNESS = timedelta(minutes=2)
# Parameters a next page may change (the model's Pagination); all others must be resent.
CHANGEABLE = ("paginationToken", "maxResultsPerPage", "includedData")
LIST_PARAMS = ("marketplaceIds", "fulfillmentStatuses", "fulfilledBy")
TIME_PARAMS = ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore")


def _original(request: HttpRequest) -> dict:
    """The request's parameters that a paginationToken binds, normalised for comparison."""
    params: dict = {}
    for name in request.GET:
        if name in CHANGEABLE:
            continue
        if name in LIST_PARAMS:
            params[name] = list_param(request, name)
        elif name in TIME_PARAMS:
            moment = parse_time(request.GET[name])
            params[name] = iso(moment) if moment else request.GET[name]
        else:
            params[name] = request.GET[name]
    return params


def _page_size(request: HttpRequest) -> int | None:
    raw = request.GET.get("maxResultsPerPage", "100")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= 100 else None


def _first_query(request: HttpRequest, now: datetime) -> dict | HttpResponse:
    """The query of a first page, or the 400 Amazon gives its parameters."""
    created_after = request.GET.get("createdAfter")
    updated_after = request.GET.get("lastUpdatedAfter")
    if bool(created_after) == bool(updated_after):
        return bad_request("Provide exactly one of createdAfter and lastUpdatedAfter.")
    by_created = bool(created_after)
    after = parse_time(created_after or updated_after or "")
    before_raw = request.GET.get("createdBefore" if by_created else "lastUpdatedBefore")
    before = parse_time(before_raw) if before_raw else now - FRESHNESS
    if after is None or before is None or before < after:
        return bad_request("Invalid Input")
    if before > now - FRESHNESS:
        return bad_request(TOO_RECENT)
    statuses = list_param(request, "fulfillmentStatuses")
    fulfilled_by = list_param(request, "fulfilledBy")
    if (
        any(s not in STATUSES for s in statuses)
        or any(f not in ("AMAZON", "MERCHANT") for f in fulfilled_by)
        or _page_size(request) is None
    ):
        return bad_request("Invalid Input")
    return {
        "created": by_created,
        "after": iso(after),
        "before": iso(before),
        "markets": list_param(request, "marketplaceIds"),
        "statuses": statuses,
        "by": fulfilled_by,
        # Marketplace (of the seller's, in order), local day (None: the first), product, n.
        "pos": [0, None, 0, 0],
        "original": _original(request),
    }


def _next_query(request: HttpRequest, now: datetime) -> dict | HttpResponse:
    """The query a paginationToken continues, if the request resends its parameters."""
    query = unsign_page(request, request.GET["paginationToken"], PAGE_SALT)
    if (
        query is None
        or query["original"] != _original(request)
        or now - parse_time(query["issued"]) > TOKEN_LIFETIME
    ):
        return bad_request(STALE_TOKEN)
    if _page_size(request) is None:
        return bad_request("Invalid Input")
    return query


@require_GET
@sp_operation("searchOrders")
def search_orders(request: HttpRequest, seller: Seller) -> HttpResponse:
    sim = sim_of(request)
    world = sim.world
    now = world.clock.now()
    if request.GET.get("paginationToken"):
        query = _next_query(request, now)
    else:
        query = _first_query(request, now)
    if isinstance(query, HttpResponse):
        return query
    # A next page may change these two (the model's Pagination).
    query["size"] = _page_size(request)
    query["included"] = list_param(request, "includedData")
    markets = [m for m in seller.marketplaces if not query["markets"] or m.id in query["markets"]]
    after, before = parse_time(query["after"]), parse_time(query["before"])
    included = set(query["included"])
    found: list[dict] = []
    market_at, day_ord, start_index, start_n = query["pos"]
    next_pos = None
    while market_at < len(markets) and next_pos is None:
        market = markets[market_at]
        if day_ord is None:
            # Orders ship within two days and cancellations come up to REVISION_DAYS later,
            # so an update window starts that much earlier.
            back = 0 if query["created"] else REVISION_DAYS
            oldest = world.today(market) - timedelta(days=HISTORY_DAYS)
            day_ord = max(market.day_of(after) - timedelta(days=back), oldest).toordinal()
        last_day = min(market.day_of(before), world.today(market))
        while day_ord <= last_day.toordinal() and next_pos is None:
            day = date.fromordinal(day_ord)
            for index, line in _orders_of_day(world, seller, market, day):
                if (index, line.n) < (start_index, start_n):
                    continue
                if len(found) == query["size"]:
                    next_pos = [market_at, day_ord, index, line.n]
                    break
                order = order_json(world, seller, market, day, index, line, included)
                if order is None:
                    continue
                moment = order["_created"] if query["created"] else order["_updated"]
                if not after <= moment <= before:
                    continue
                if query["statuses"] and order["_status"] not in query["statuses"]:
                    continue
                if query["by"] and order["_by"] not in query["by"]:
                    continue
                found.append(_public(order))
            day_ord, start_index, start_n = day_ord + 1, 0, 0
        if next_pos is None:
            market_at, day_ord = market_at + 1, None
    body: dict = {"orders": found}
    if next_pos is not None:
        body["pagination"] = {
            "nextToken": sign_page(
                request, {**query, "pos": next_pos, "issued": iso(now)}, PAGE_SALT
            )
        }
    body["createdBefore" if query["created"] else "lastUpdatedBefore"] = query["before"]
    return json_response(body)


@require_GET
@sp_operation("getOrder")
def get_order(request: HttpRequest, seller: Seller, order_id_: str) -> HttpResponse:
    world = sim_of(request).world
    parsed = parse_order_id(world, order_id_)
    if parsed is None or parsed[1] != seller.index or parsed[3] >= len(seller.products):
        return not_found(f"Order {order_id_} not found.")
    market, _, day, index, n = parsed
    if seller.marketplace(market.id) is None or not seller.offers(seller.products[index], market):
        return not_found(f"Order {order_id_} not found.")
    line = next((x for x in order_lines(world, seller, market, index, day) if x.n == n), None)
    if line is None or day < world.today(market) - timedelta(days=HISTORY_DAYS):
        return not_found(f"Order {order_id_} not found.")
    included = set(list_param(request, "includedData"))
    order = order_json(world, seller, market, day, index, line, included)
    if order is None:
        return not_found(f"Order {order_id_} not found.")
    return json_response({"order": _public(order)})
