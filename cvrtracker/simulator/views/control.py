"""The control API under /_sim/: JSON, loopback only, for demos and tests.

See README.md for every endpoint. Nothing here exists at Amazon.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import catalog_lag
from ..content import SUPPRESSION_ISSUE
from ..faults import Fault, ReportFault
from ..reports import SALES_AND_TRAFFIC
from ..specs import operations
from ..state import Simulator
from ..world import MARKETPLACES, NON_AMAZON, UNOPENED, Marketplace, Seller, World
from .common import is_loopback, iso, json_response, sim_of

LISTING_FIELDS = ("title", "bullet", "description", "image", "price", "quantity", "status", "issue")


def loopback_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if not is_loopback(request):
            return json_response({"error": "the control API answers loopback clients only"}, 403)
        return view(request, **kwargs)

    return wrapper


def _body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError as error:
        raise ValueError("the body is not JSON") from error
    if not isinstance(data, dict):
        raise ValueError("the body is a JSON object")
    return data


def _seller(request: HttpRequest, seller_id: str) -> Seller | None:
    return sim_of(request).world.seller(seller_id)


def _problem(message: str, status: int = 400) -> HttpResponse:
    return json_response({"error": message}, status)


def _market_json(world: World, seller: Seller, market: Marketplace) -> dict:
    return {
        "marketplaceId": market.id,
        "countryCode": market.country_code,
        "currency": market.currency,
        "timeZone": market.time_zone,
        "salesAndTrafficReport": market.sales_and_traffic,
        "products": sum(1 for p in seller.products if seller.offers(p, market)),
        "today": world.today(market).isoformat(),
    }


def _marketplace_param(request: HttpRequest, seller: Seller) -> Marketplace:
    """?marketplaceId= one of the seller's marketplaces (default its first), or ValueError."""
    wanted = request.GET.get("marketplaceId")
    if not wanted:
        return seller.home
    market = seller.marketplace(wanted)
    if market is None:
        raise ValueError(f"the seller does not sell in {wanted}")
    return market


@loopback_only
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    sim = sim_of(request)
    return json_response(
        {
            "baseUrl": sim.base_url,
            "seed": sim.seed,
            "quota": sim.quota,
            "now": iso(sim.clock.now()),
            "today": sim.clock.today().isoformat(),
            "marketplaceIds": [sim.world.marketplace.id],
            # Each marketplace's local business day now (reports and orders count these).
            "marketplaceToday": {
                m.id: sim.world.today(m).isoformat() for m in MARKETPLACES.values()
            },
            "app": {
                "clientId": sim.app.client_id,
                "applicationId": sim.app.application_id,
                "redirectUris": list(sim.app.redirect_uris),
                "draft": sim.app.draft,
            },
            "sellers": [
                {
                    "sellerId": s.id,
                    "storeName": s.store_name,
                    "products": sim.world.asin_count,
                    "region": s.region,
                    # Where it really sells (the first carries the whole catalogue); the
                    # participations also list sites it never opened and "Non-Amazon".
                    "marketplaces": [_market_json(sim.world, s, m) for m in s.marketplaces],
                    "unopenedMarketplaceIds": [m.id for m in UNOPENED[s.region]],
                    "nonAmazonMarketplaceIds": [NON_AMAZON.id],
                }
                for s in sim.world.sellers
            ],
            "reports": {
                "queueSeconds": sim.timings.queue_seconds,
                "workSeconds": sim.timings.work_seconds,
                "salesTrafficBudget": _budget_settings(sim),
            },
        }
    )


def _budget_settings(sim: Simulator) -> dict | None:
    budget = sim.limiter.report_budgets.get(SALES_AND_TRAFFIC)
    if budget is None:
        return None
    return {
        "scope": budget.scope,
        "intervalSeconds": budget.interval,
        "daySeconds": budget.day,
        "perDay": budget.per_day,
        "otherAppsPerDay": budget.other_apps_per_day,
    }


@loopback_only
@require_GET
def products(request: HttpRequest, seller_id: str) -> HttpResponse:
    seller = _seller(request, seller_id)
    if seller is None:
        return _problem("unknown seller", 404)
    limit = min(int(request.GET.get("limit", "100")), 50_000)
    return json_response(
        [
            {
                "sku": p.sku,
                "asin": p.asin,
                "parentAsin": p.parent_asin,
                "fba": p.fba,
                "marketplaceIds": [m.id for m in seller.marketplaces if seller.offers(p, m)],
            }
            for p in seller.products[:limit]
        ]
    )


@loopback_only
@require_POST
def grant(request: HttpRequest, seller_id: str) -> HttpResponse:
    """Test shortcut around the consent page: a fresh refresh token for the seller."""
    seller = _seller(request, seller_id)
    if seller is None:
        return _problem("unknown seller", 404)
    return json_response(
        {
            "sellerId": seller.id,
            "refreshToken": sim_of(request).grants.issue_refresh_token(seller.id),
        }
    )


@loopback_only
@require_POST
def rotate_client_secret(request: HttpRequest) -> HttpResponse:
    """Rotate the app's LWA client secret: a new one, the old one valid until expired.

    Body (optional): {"clientSecret": "..."} to choose the new secret.
    """
    sim = sim_of(request)
    try:
        new_secret = _body(request).get("clientSecret")
        if new_secret is not None and (not isinstance(new_secret, str) or not new_secret):
            raise ValueError("clientSecret is a non-empty string")
    except ValueError as error:
        return _problem(str(error))
    sim.app = sim.grants.rotate_secret(new_secret)
    return json_response({"clientSecret": sim.app.client_secret, "previousSecretValid": True})


@loopback_only
@require_POST
def expire_previous_client_secret(request: HttpRequest) -> HttpResponse:
    """End a rotation: the previous secret now gets invalid_client."""
    sim = sim_of(request)
    sim.app = sim.grants.expire_previous_secret()
    return json_response({"previousSecretValid": False})


@loopback_only
@require_POST
def revoke(request: HttpRequest, seller_id: str) -> HttpResponse:
    seller = _seller(request, seller_id)
    if seller is None:
        return _problem("unknown seller", 404)
    return json_response(
        {"sellerId": seller.id, "revoked": sim_of(request).grants.revoke(seller.id)}
    )


def _listing_value(field: str, data: dict) -> tuple[str, Any]:
    """Turn a control request into the world's (field name, value), or raise ValueError."""
    value = data.get("value")
    if field == "bullet":
        index = int(data.get("index", 0))
        if not 0 <= index <= 4 or not isinstance(value, str):
            raise ValueError("bullet needs index 0..4 and a string value")
        return f"bullet:{index}", value
    if field == "image":
        variant = data.get("variant", "MAIN")
        if variant != "MAIN" and not (variant.startswith("PT") and variant[2:].isdigit()):
            raise ValueError("image variant is MAIN or PT01..PT08")
        return f"image:{variant}", value
    if field in ("title", "description"):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{field} needs a non-empty string value")
        return field, value
    if field == "price":
        try:
            cents = int(Decimal(str(value)) * 100)
        except InvalidOperation as error:
            raise ValueError("price is an amount like 19.99") from error
        if cents <= 0:
            raise ValueError("price must be positive")
        return "price", cents
    if field == "quantity":
        if not isinstance(value, int) or value < 0:
            raise ValueError("quantity is a whole number >= 0")
        return "quantity", value
    if field == "status":
        if value not in ("ACTIVE", "INACTIVE"):
            raise ValueError("status is ACTIVE or INACTIVE")
        return "status", value
    if field == "issue":
        if value == "suppress":
            return "issue", SUPPRESSION_ISSUE
        if value is not None and not isinstance(value, dict):
            raise ValueError('issue is an Issue object, "suppress" or null')
        return "issue", value
    if field == "buy_box":
        if value not in ("WON", "LOST"):
            raise ValueError("buy_box is WON or LOST")
        return "buy_box", value
    raise ValueError(f"field is one of {LISTING_FIELDS + ('buy_box',)}")


@loopback_only
@require_POST
def change_listing(request: HttpRequest, seller_id: str, sku: str) -> HttpResponse:
    """Change one listing field now; `effect` (a conversion multiplier) applies to content."""
    sim = sim_of(request)
    seller = _seller(request, seller_id)
    product = seller.product(sku) if seller else None
    if seller is None or product is None:
        return _problem("unknown seller or sku", 404)
    try:
        data = _body(request)
        name, value = _listing_value(str(data.get("field", "")), data)
        effect = data.get("effect")
        if effect is not None and (not isinstance(effect, int | float) or effect < 0):
            raise ValueError("effect is a conversion multiplier >= 0, e.g. 1.2 for +20%")
        delay, loses, source = _catalog_options(name, data)
    except (ValueError, TypeError) as error:
        return _problem(str(error))
    if name.startswith("image:") and not value:
        version = 10 + sum(1 for c in product.changes if c.field == name)
        value = sim.world.image(seller, product, name[6:], version)
    change = sim.world.add_change(
        seller,
        product,
        name=name,
        value=value,
        at=sim.clock.now(),
        effect=effect,
        note=str(data.get("note", "")),
        source=source,
        catalog_delay=delay,
        loses=loses,
    )
    shown = catalog_lag.shown_at(change)
    return json_response(
        {
            "sku": sku,
            "field": change.field,
            "at": iso(change.at),
            "old": change.old,
            "new": change.value,
            "conversionMultiplier": round(change.effect, 4),
            "source": change.source,
            "catalogAt": iso(shown) if shown else None,
            "reachesCatalog": not change.loses,
        }
    )


def _catalog_options(name: str, data: dict) -> tuple[timedelta | None, bool | None, str]:
    """(catalog delay, loses, source) of a control change; None: drawn from the seed.

    `catalogDelaySeconds` and `loses` pin a content change's catalog lag;
    `by: "contributor"` makes it another contributor's, seen in the catalog only
    (at once, unless a delay is given).
    """
    raw_delay, loses = data.get("catalogDelaySeconds"), data.get("loses")
    by = data.get("by", "seller")
    if by not in ("seller", "contributor"):
        raise ValueError('by is "seller" or "contributor"')
    if (raw_delay is not None or loses is not None or by != "seller") and (
        not catalog_lag.is_catalog_field(name)
    ):
        raise ValueError("catalogDelaySeconds, loses and by apply to content fields only")
    if raw_delay is not None and (not isinstance(raw_delay, int | float) or raw_delay < 0):
        raise ValueError("catalogDelaySeconds is a number of seconds >= 0")
    if loses is not None and not isinstance(loses, bool):
        raise ValueError("loses is true or false")
    delay = None if raw_delay is None else timedelta(seconds=raw_delay)
    if by == "contributor":
        return delay or timedelta(0), False, catalog_lag.CONTRIBUTOR
    return delay, loses, "control"


@loopback_only
@require_http_methods(["GET", "POST", "DELETE"])
def faults(request: HttpRequest) -> HttpResponse:
    sim = sim_of(request)
    if request.method == "POST":
        try:
            data = _body(request)
            operation = data.get("operation", "*")
            if operation != "*" and operation not in operations():
                raise ValueError(f"unknown operation {operation}")
            sim.faults.set(operation, Fault.from_json(data))
        except (ValueError, TypeError) as error:
            return _problem(str(error))
    elif request.method == "DELETE":
        sim.faults.clear()
    return json_response(sim.faults.as_json())


@loopback_only
@require_http_methods(["GET", "POST"])
def clock(request: HttpRequest) -> HttpResponse:
    """GET reads the clock, POST {"days", "hours", "seconds"} moves it forward.

    `epoch` is `now` to the microsecond (the tracker's clock follows it); `present`
    is where a clock started in the past (--start-days-ago) catches up: a replay
    moves it forward until `behindSeconds` is 0.
    """
    sim = sim_of(request)
    if request.method == "POST":
        try:
            data = _body(request)
            seconds = (
                float(data.get("days", 0)) * 86400
                + float(data.get("hours", 0)) * 3600
                + float(data.get("seconds", 0))
            )
            sim.clock.advance(seconds)
        except (ValueError, TypeError) as error:
            return _problem(str(error))
    now = sim.clock.now()
    present = sim.clock.present()
    return json_response(
        {
            "now": iso(now),
            "epoch": now.timestamp(),
            "today": now.date().isoformat(),
            "present": iso(present),
            "presentEpoch": present.timestamp(),
            "behindSeconds": max(0.0, (present - now).total_seconds()),
            "marketplaceToday": {m.id: m.day_of(now).isoformat() for m in MARKETPLACES.values()},
        }
    )


@loopback_only
@require_GET
def ground_truth(request: HttpRequest) -> HttpResponse:
    """Every change; effectiveDate is the local day of ?marketplaceId= (default each
    seller's first marketplace)."""
    sim = sim_of(request)
    seller = None
    if request.GET.get("sellerId"):
        seller = _seller(request, request.GET["sellerId"])
        if seller is None:
            return _problem("unknown seller", 404)
    market = None
    if request.GET.get("marketplaceId"):
        market = MARKETPLACES.get(request.GET["marketplaceId"])
        if market is None:
            return _problem("unknown marketplaceId")
    return json_response({"changes": sim.world.ground_truth(seller, market)})


@loopback_only
@require_GET
def daily_truth(request: HttpRequest, seller_id: str, sku: str) -> HttpResponse:
    """The true daily numbers of one listing in one marketplace (?marketplaceId=, default the
    seller's first), by marketplace-local day: final values, or with ?asOf= the values a
    report asked on that local day shows (revisions and traffic lag), for scoring trackers."""
    sim = sim_of(request)
    seller = _seller(request, seller_id)
    product = seller.product(sku) if seller else None
    if seller is None or product is None:
        return _problem("unknown seller or sku", 404)
    try:
        market = _marketplace_param(request, seller)
    except ValueError as error:
        return _problem(str(error))
    try:
        start = date.fromisoformat(request.GET["start"])
        end = date.fromisoformat(request.GET["end"])
        as_of = date.fromisoformat(request.GET["asOf"]) if request.GET.get("asOf") else None
    except (KeyError, ValueError):
        return _problem("start, end (and asOf) are YYYY-MM-DD dates")
    if (end - start).days > 800:
        return _problem("at most 800 days")
    today = sim.world.today(market)
    days = []
    day = start
    while day <= end and day < min(today, as_of or today):
        st = sim.world.day_stats(seller, product, day, market, as_of)
        days.append(
            {
                "date": day.isoformat(),
                "sessions": st.sessions,
                "units": st.units,
                "orderItems": st.order_items,
                "sales": round(st.sales_cents / 100, 2),
                "buyBoxPercentage": st.buy_box_pct,
            }
        )
        day = date.fromordinal(day.toordinal() + 1)
    return json_response(
        {
            "sku": sku,
            "asin": product.asin,
            "marketplaceId": market.id,
            "currency": market.currency,
            "offered": seller.offers(product, market),
            "days": days,
        }
    )


@loopback_only
@require_http_methods(["GET", "DELETE"])
def counters(request: HttpRequest) -> HttpResponse:
    sim = sim_of(request)
    if request.method == "DELETE":
        sim.counters.reset()
    return json_response(sim.counters.as_json(request.GET.get("sellerId")))


@loopback_only
@require_http_methods(["GET", "DELETE"])
def sales_traffic_budget(request: HttpRequest) -> HttpResponse:
    """The Sales & Traffic budget per seller: used and remaining today, next request allowed.

    DELETE forgets what was spent (a test convenience; nothing like it exists at Amazon).
    """
    sim = sim_of(request)
    sellers = sim.world.sellers
    if request.GET.get("sellerId"):
        seller = _seller(request, request.GET["sellerId"])
        if seller is None:
            return _problem("unknown seller", 404)
        sellers = [seller]
    if request.method == "DELETE":
        sim.limiter.reset_budgets()
    budgets = []
    for seller in sellers:
        state = sim.limiter.budget_state(seller.id, SALES_AND_TRAFFIC)
        if state is None:
            continue
        wait = state["nextAllowedInSeconds"]
        state["nextAllowedAt"] = (
            None if wait is None else iso(datetime.now(UTC) + timedelta(seconds=wait))
        )
        budgets.append({"sellerId": seller.id, **state})
    return json_response(
        {
            "reportType": SALES_AND_TRAFFIC,
            "enabled": SALES_AND_TRAFFIC in sim.limiter.report_budgets,
            "quota": sim.quota,
            "budgets": budgets,
        }
    )


@loopback_only
@require_http_methods(["GET", "POST", "DELETE"])
def report_faults(request: HttpRequest) -> HttpResponse:
    """Force how the next N reports end: FATAL (with a reason), CANCELLED, DONE_NO_DOCUMENT,
    DOCUMENT_GONE or STUCK; optionally only for one seller and report type."""
    sim = sim_of(request)
    if request.method == "POST":
        try:
            sim.report_faults.add(ReportFault.from_json(_body(request)))
        except (ValueError, TypeError) as error:
            return _problem(str(error))
    elif request.method == "DELETE":
        sim.report_faults.clear()
    return json_response(sim.report_faults.as_json())


@loopback_only
@require_http_methods(["GET", "POST", "DELETE"])
def report_queue(request: HttpRequest, seller_id: str) -> HttpResponse:
    """A seller's report queues; POST {"hours": 6} holds them (optionally one reportType),
    DELETE releases every hold now. Holds run on the simulated clock."""
    sim = sim_of(request)
    seller = _seller(request, seller_id)
    if seller is None:
        return _problem("unknown seller", 404)
    now = sim.clock.now()
    if request.method == "POST":
        try:
            data = _body(request)
            seconds = float(data.get("hours", 0)) * 3600 + float(data.get("seconds", 0))
            report_type = data.get("reportType")
            if seconds <= 0:
                raise ValueError("hold for hours or seconds > 0")
            if report_type is not None and not isinstance(report_type, str):
                raise ValueError("reportType is a report type name")
        except (ValueError, TypeError) as error:
            return _problem(str(error))
        sim.reports.hold(seller.id, now=now, seconds=seconds, report_type=report_type)
    elif request.method == "DELETE":
        sim.reports.release(seller.id, now)
    return json_response({"sellerId": seller.id, **sim.reports.queue_json(seller.id, now)})
