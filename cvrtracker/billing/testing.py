"""A Stripe-shaped HTTP server on loopback, for tests.

It answers the few API calls billing makes with Stripe's own example objects
(`shared/specs/stripe/fixtures3.json`, copied from stripe/openapi) adjusted per
scenario, records every request, fails on demand, and serves a stand-in for the
hosted Checkout page that sends the signed `checkout.session.completed` webhook
the way Stripe would.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe
from django.conf import settings

DAY = 86400


def fixtures_path() -> Path:
    # In CI shared/ sits beside the repository.
    return settings.SPECS_DIR / "stripe" / "fixtures3.json"


_FIXTURES: dict[str, Any] | None = None


def fixture(name: str) -> dict:
    """A deep copy of Stripe's example object of this type."""
    global _FIXTURES
    if _FIXTURES is None:
        _FIXTURES = json.loads(fixtures_path().read_text())["resources"]
    return copy.deepcopy(_FIXTURES[name])


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class Failure:
    method: str
    path: str
    status: int
    times: int


@dataclass
class FakeStripe:
    """The server's state; tests change it between calls to set up a scenario."""

    subscriptions: dict[str, dict] = field(default_factory=dict)
    sessions: dict[str, dict] = field(default_factory=dict)
    prices: list[dict] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    # Where the fake Checkout page delivers its webhook, and after how long.
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_delay: float = 0.0
    base_url: str = ""
    _idempotent: dict[str, tuple[dict, int, dict]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # Lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeStripe:
        fake = self

        class Handler(_Handler):
            state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # Scenario helpers ---------------------------------------------------------------

    def fail(self, method: str, path: str, status: int, times: int = 1) -> None:
        """Answer the next `times` requests whose path starts with `path` with `status`."""
        self.failures.append(Failure(method, path, status, times))

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path)]

    def add_price(self, price_id: str, lookup_key: str | None = None) -> dict:
        price = fixture("price")
        price.update(id=price_id, lookup_key=lookup_key)
        self.prices.append(price)
        return price

    def put_subscription(
        self,
        *,
        id: str | None = None,
        customer: str = "cus_fake",
        status: str = "active",
        price: str = "price_starter",
        lookup_key: str | None = None,
        created: int | None = None,
        period_end: int | None = None,
        trial_end: int | None = None,
        cancel_at_period_end: bool = False,
        cancel_at: int | None = None,
        team_code: str = "",
    ) -> dict:
        """Store (or replace) the subscription Stripe would return, and return it."""
        now = int(time.time())
        sub = fixture("subscription")
        sub_id = id or _id("sub")
        created = created or now
        period_end = period_end or now + 30 * DAY
        sub.update(
            id=sub_id,
            customer=customer,
            status=status,
            created=created,
            start_date=created,
            billing_cycle_anchor=created,
            trial_start=created if trial_end else None,
            trial_end=trial_end,
            cancel_at_period_end=cancel_at_period_end,
            # Stripe sets cancel_at to the period end when cancelling at period end.
            cancel_at=cancel_at or (period_end if cancel_at_period_end else None),
            canceled_at=now if status == "canceled" or cancel_at_period_end else None,
            ended_at=now if status == "canceled" else None,
            metadata={"team_code": team_code} if team_code else {},
            pending_update=None,
            latest_invoice=None,
        )
        item = sub["items"]["data"][0]
        item.update(subscription=sub_id, current_period_start=period_end - 30 * DAY)
        item["current_period_end"] = period_end
        item["price"].update(id=price, lookup_key=lookup_key)
        sub["items"]["url"] = f"/v1/subscription_items?subscription={sub_id}"
        with self._lock:
            self.subscriptions[sub_id] = sub
        return copy.deepcopy(sub)

    def invoice(
        self,
        *,
        subscription: dict,
        id: str | None = None,
        status: str = "paid",
        total: int = 1900,
        currency: str = "usd",
        created: int | None = None,
        attempt_count: int = 1,
    ) -> dict:
        """An invoice of `subscription`, linked the way API 2025-03-31.basil+ does."""
        inv = fixture("invoice")
        inv.update(
            id=id or _id("in"),
            customer=subscription["customer"],
            status=status,
            total=total,
            subtotal=total,
            amount_due=total,
            amount_paid=total if status == "paid" else 0,
            amount_remaining=0 if status == "paid" else total,
            currency=currency,
            created=created or int(time.time()),
            number=f"CVR-{secrets.token_hex(3).upper()}",
            attempt_count=attempt_count,
            attempted=True,
            billing_reason="subscription_cycle",
        )
        inv["parent"] = {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "metadata": subscription.get("metadata") or {},
                "subscription": subscription["id"],
            },
        }
        return inv

    def event(self, type: str, obj: dict, *, id: str | None = None, created: int | None = None):
        event = fixture("event")
        event.update(
            id=id or _id("evt"),
            type=type,
            created=created or int(time.time()),
            api_version=stripe.api_version,
        )
        event["data"] = {"object": copy.deepcopy(obj)}
        return event

    def checkout_completed_event(self, session: dict) -> dict:
        return self.event("checkout.session.completed", session)

    # The fake hosted Checkout ---------------------------------------------------------

    def complete_checkout(self, session_id: str) -> tuple[dict, dict]:
        """Pay for a session as a buyer would; returns (session, subscription)."""
        with self._lock:
            session = self.sessions[session_id]
        params = session["_params"]
        trial_end = params.get("subscription_data[trial_end]")
        sub = self.put_subscription(
            customer=session["customer"] or _id("cus"),
            status="trialing" if trial_end else "active",
            price=params["line_items[0][price]"],
            trial_end=int(trial_end) if trial_end else None,
            team_code=params.get("subscription_data[metadata][team_code]", ""),
        )
        with self._lock:
            session.update(
                status="complete",
                payment_status="no_payment_required" if trial_end else "paid",
                customer=sub["customer"],
                subscription=sub["id"],
            )
        return self._public(session), sub

    def deliver(self, event: dict) -> int:
        """POST a signed event to `webhook_url`, as Stripe does; returns the status."""
        payload = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(payload, self.webhook_secret)
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            self.webhook_url,
            data=payload.encode(),
            headers={"Content-Type": "application/json", "Stripe-Signature": header},
        )
        # nosemgrep: cvrt-outbound-http-outside-lib (test double to our webhook)
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status

    @staticmethod
    def _public(session: dict) -> dict:
        return {k: v for k, v in session.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    state: FakeStripe

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _params(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        query = urlsplit(self.path).query
        return dict(parse_qsl(body, keep_blank_values=True) + parse_qsl(query))

    def _send(self, status: int, body: dict | str, headers: dict | None = None) -> None:
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(status)
        ctype = "application/json" if isinstance(body, dict) else "text/html; charset=utf-8"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, code: str = "") -> None:
        kind = "api_error" if status >= 500 else "invalid_request_error"
        error = {"type": kind, "message": message}
        if code:
            error["code"] = code
        # Stripe's idempotency layer replays a 500; tell the SDK retrying is safe.
        self._send(
            status, {"error": error}, {"Stripe-Should-Retry": "true"} if status >= 500 else {}
        )

    def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
        self._handle("POST")

    def do_DELETE(self) -> None:  # noqa: N802 - http.server's hook name
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        state = self.state
        path = urlsplit(self.path).path
        params = self._params()
        with state._lock:
            state.requests.append(Recorded(method, path, params, dict(self.headers.items())))
            failure = next(
                (f for f in state.failures if f.method == method and path.startswith(f.path)),
                None,
            )
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    state.failures.remove(failure)
        if failure is not None:
            return self._error(failure.status, f"Simulated failure {failure.status}.")
        key = self.headers.get("Idempotency-Key")
        if method == "POST" and key and path.startswith("/v1/"):
            with state._lock:
                seen = state._idempotent.get(key)
            if seen is not None:
                if seen[0] != params:
                    return self._error(
                        400,
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                        "idempotency_error",
                    )
                return self._send(seen[1], seen[2], {"Idempotent-Replayed": "true"})
        status, body = self._route(method, path, params)
        if method == "POST" and key and path.startswith("/v1/") and isinstance(body, dict):
            with state._lock:
                state._idempotent[key] = (params, status, body)
        if status == 303:
            return self._send(303, "", {"Location": body})
        self._send(status, body)

    def _route(self, method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        state = self.state
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/checkout/sessions":
            session = fixture("checkout.session")
            session_id = _id("cs_test")
            session.update(
                id=session_id,
                mode=params.get("mode"),
                client_reference_id=params.get("client_reference_id"),
                customer=params.get("customer"),
                customer_email=params.get("customer_email"),
                success_url=params.get("success_url"),
                cancel_url=params.get("cancel_url"),
                metadata={"team_code": params.get("metadata[team_code]", "")},
                payment_intent=None,
                status="open",
                subscription=None,
                url=f"{state.base_url}/c/pay/{session_id}",
                _params=params,
            )
            with state._lock:
                state.sessions[session_id] = session
            return 200, state._public(session)
        if method == "POST" and path == "/v1/billing_portal/sessions":
            portal = fixture("billing_portal.session")
            portal_id = _id("bps")
            portal.update(
                id=portal_id,
                customer=params.get("customer"),
                return_url=params.get("return_url"),
                flow=None,
                url=f"{state.base_url}/p/session/{portal_id}",
            )
            return 200, portal
        if method == "GET" and parts[:2] == ["v1", "subscriptions"] and len(parts) == 3:
            with state._lock:
                sub = copy.deepcopy(state.subscriptions.get(parts[2]))
            if sub is None:
                return 404, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "message": f"No such subscription: '{parts[2]}'",
                    }
                }
            return 200, sub
        if method == "DELETE" and parts[:2] == ["v1", "subscriptions"] and len(parts) == 3:
            # Cancel at once, as Stripe's DELETE /v1/subscriptions/{id} does.
            with state._lock:
                sub = state.subscriptions.get(parts[2])
                if sub is not None:
                    now = int(time.time())
                    sub.update(status="canceled", canceled_at=now, ended_at=now)
                    sub = copy.deepcopy(sub)
            if sub is None:
                return 404, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "resource_missing",
                        "message": f"No such subscription: '{parts[2]}'",
                    }
                }
            return 200, sub
        if method == "GET" and path == "/v1/prices":
            keys = {v for k, v in params.items() if k.startswith("lookup_keys")}
            data = [p for p in state.prices if p["lookup_key"] in keys]
            return 200, {"object": "list", "data": data, "has_more": False, "url": "/v1/prices"}
        if parts[:2] == ["c", "pay"] and len(parts) == 3:
            return self._checkout_page(method, parts[2])
        return 404, {"error": {"type": "invalid_request_error", "message": f"No route {path}"}}

    def _checkout_page(self, method: str, session_id: str) -> tuple[int, Any]:
        state = self.state
        if session_id not in state.sessions:
            return 404, "<h1>No such session</h1>"
        if method == "GET":
            return 200, (
                '<!doctype html><title>Fake Checkout</title><link rel="icon" href="data:,">'
                "<h1>Fake Stripe Checkout</h1>"
                f'<form method="post" action="/c/pay/{session_id}">'
                '<button type="submit">Subscribe</button></form>'
            )
        session, _ = state.complete_checkout(session_id)
        if state.webhook_url:
            event = state.checkout_completed_event(session)

            def later() -> None:
                time.sleep(state.webhook_delay)
                state.deliver(event)

            threading.Thread(target=later, daemon=True).start()
        return 303, session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
