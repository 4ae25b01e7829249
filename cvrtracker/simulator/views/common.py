"""Shared plumbing for SP-API views: token check, quotas, faults, counters, error bodies."""

from __future__ import annotations

import ipaddress
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse

from ..state import Simulator
from ..world import Marketplace, Seller

QUOTA_EXCEEDED = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}
# Amazon's wording for refused tokens (these are messages, not secrets).
DENIED = "Access to requested resource is denied."
TOKEN_MISSING = "Access token is missing in the request header."  # noqa: S105
TOKEN_INVALID = "The access token you provided is revoked, malformed or invalid."  # noqa: S105
TOKEN_EXPIRED = "The access token you provided has expired."  # noqa: S105


def json_response(body: Any, status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body), status=status, content_type="application/json", headers=headers
    )
    # Error answers are part of the simulated API, not failures of the simulator:
    # keep them out of Django's request log.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def error_body(code: str, message: str, details: str | None = None) -> dict:
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"errors": [error]}


def bad_request(message: str, code: str = "InvalidInput") -> HttpResponse:
    return json_response(error_body(code, message, ""), 400)


def not_found(message: str, code: str = "NotFound") -> HttpResponse:
    return json_response(error_body(code, message, ""), 404)


def unauthorized(details: str, request_id: str | None = None) -> HttpResponse:
    """Amazon's 403; every model lists x-amzn-RequestId among its headers."""
    return json_response(
        error_body("Unauthorized", DENIED, details),
        403,
        **{"x-amzn-RequestId": request_id or str(uuid.uuid4())},
    )


def requested_marketplaces(
    request: HttpRequest, seller: Seller, at_most: int | None = None
) -> list[Marketplace] | None:
    """The marketplaces `marketplaceIds` names, in order, or None when it names none, more than
    `at_most`, or one the seller does not sell in today: a site Amazon lists as participating
    but that was never opened (docs#254) has no listings, so it is refused as in createReport."""
    ids = list(dict.fromkeys(list_param(request, "marketplaceIds")))
    if not ids or (at_most is not None and len(ids) > at_most):
        return None
    markets = [seller.marketplace(m) for m in ids]
    if any(m is None for m in markets):
        return None
    return markets  # type: ignore[return-value]


def sim_of(request: HttpRequest) -> Simulator:
    return request.sim  # type: ignore[attr-defined]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time from a query or body; None when it does not parse."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def list_param(request: HttpRequest, name: str) -> list[str]:
    """An array query parameter, sent repeated or comma-separated (Swagger's csv)."""
    values: list[str] = []
    for raw in request.GET.getlist(name):
        values.extend(v for v in raw.split(",") if v)
    return values


def included_param(request: HttpRequest, allowed: tuple[str, ...]) -> list[str] | None:
    """includedData (summaries when absent), or None when it names a set the operation lacks."""
    included = list_param(request, "includedData") or ["summaries"]
    return included if set(included) <= set(allowed) else None


def int_param(request: HttpRequest, name: str, default: int, maximum: int) -> int | None:
    raw = request.GET.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 1 <= value <= maximum else None


def sign_page(request: HttpRequest, payload: dict, salt: str) -> str:
    return signing.dumps(payload, key=sim_of(request).secret.hex(), salt=salt, compress=True)


def unsign_page(request: HttpRequest, token: str, salt: str, max_age: float | None = None) -> Any:
    """The payload of a token we signed, or None if it was tampered with or is too old."""
    try:
        return signing.loads(token, key=sim_of(request).secret.hex(), salt=salt, max_age=max_age)
    except signing.BadSignature:
        return None


def is_loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def sp_operation(
    operation_id: str, *, report_type: Callable[[HttpRequest], str | None] | None = None
) -> Callable:
    """Wrap an SP-API view: token, faults, quota, counters and Amazon's headers.

    The view is called as view(request, seller, **kwargs) only for a live
    seller token with quota left. `report_type` names the report type a request asks
    for, so a type with its own budget (Sales & Traffic) is metered on top of the
    operation's bucket and refused with the same 429.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            sim = sim_of(request)
            token = request.headers.get("x-amz-access-token", "").strip()
            request_id = str(uuid.uuid4())
            if not token:
                sim.counters.count(None, operation_id, "unauthorized")
                return unauthorized(TOKEN_MISSING, request_id)
            access, dead_seller = sim.grants.lookup(token)
            if access is None or access.seller_id is None:
                sim.counters.count(dead_seller, operation_id, "unauthorized")
                return unauthorized(TOKEN_INVALID, request_id)
            seller = sim.world.seller(access.seller_id)
            if access.expires <= sim.clock.now():
                sim.counters.count(access.seller_id, operation_id, "unauthorized")
                return unauthorized(TOKEN_EXPIRED, request_id)
            assert seller is not None  # noqa: S101 - tokens are only issued for known sellers
            fault = sim.faults.get(operation_id)
            if fault.latency_ms:
                time.sleep(fault.latency_ms / 1000)
            metered = report_type(request) if report_type else None
            if sim.faults.roll(fault.throttle_ratio) or not sim.limiter.allow(
                seller.id, operation_id, metered
            ):
                sim.counters.count(seller.id, operation_id, "throttled")
                return json_response(QUOTA_EXCEEDED, 429, **{"x-amzn-RequestId": request_id})
            if sim.faults.roll(fault.error_ratio):
                sim.counters.count(seller.id, operation_id, "error")
                return json_response(
                    error_body("InternalFailure", "We encountered an internal error.", ""),
                    503 if sim.faults.roll(0.5) else 500,
                    **{"x-amzn-RequestId": request_id},
                )
            response = view(request, seller, **kwargs)
            sim.counters.count(seller.id, operation_id, f"http_{response.status_code}")
            response["x-amzn-RequestId"] = request_id
            if response.status_code in (200, 202, 400, 404):
                response["x-amzn-RateLimit-Limit"] = sim.limiter.limit_header(operation_id)
            return response

        return wrapper

    return decorate


def seller_matches(seller: Seller, seller_id: str) -> HttpResponse | None:
    """Listings take the seller id in the path; another seller's id is refused."""
    if seller_id != seller.id:
        return unauthorized(TOKEN_INVALID)
    return None
