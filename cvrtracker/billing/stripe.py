"""The one module that talks to Stripe, through the official SDK's StripeClient.

Its base address comes from settings, so the same code reaches Stripe in
production and a Stripe-shaped loopback server in tests. Every failure is raised
as BillingError, with `permanent` telling a caller whether retrying can help.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    import stripe

# The SDK (with the HTTP clients it loads) is ~27 MB of memory, imported by the calls
# below rather than with this module: every page reads the plan, few talk to Stripe.

log = logging.getLogger(__name__)


class BillingError(Exception):
    """Stripe refused or could not be reached. `message` is safe to show a seller."""

    def __init__(self, message: str, *, permanent: bool, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status


class SignatureError(Exception):
    """A webhook body that Stripe did not sign with our secret (or signed too long ago)."""


def billing_configured() -> bool:
    """True when this server can sell plans: an API key, a webhook secret and a price."""
    return bool(
        settings.STRIPE_SECRET_KEY
        and settings.STRIPE_WEBHOOK_SECRET
        and (settings.STRIPE_PRICE_STARTER or settings.STRIPE_PRICE_PRO)
    )


def stripe_client() -> stripe.StripeClient:
    import stripe

    from cvrtracker.lib.tls import requests_session

    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        # The SDK's default is 80 s; a webhook holds a row lock while it re-fetches.
        http_client=stripe.RequestsClient(
            timeout=settings.STRIPE_TIMEOUT_SECONDS,
            session=requests_session(ca_file=settings.STRIPE_CA_FILE),
        ),
    )


def _call(what: str, fn, *args, **kwargs) -> Any:
    import stripe

    try:
        return fn(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.RateLimitError) as e:
        log.warning("stripe %s: %s", what, e)
        raise BillingError(
            "Our payment provider could not be reached. Nothing was changed; please try again.",
            permanent=False,
        ) from e
    except stripe.StripeError as e:
        status = e.http_status
        log.warning("stripe %s failed (%s): %s", what, status, e.user_message or e)
        transient = status is None or status >= 500 or status == 409
        raise BillingError(
            "Our payment provider is having trouble. Nothing was changed; please try again."
            if transient
            else "Our payment provider refused the request. Nothing was changed; "
            "please contact support if this persists.",
            permanent=not transient,
            status=status,
        ) from e


def checkout_session_create(*, params: dict, idempotency_key: str) -> tuple[str, str]:
    """Create a Checkout Session; returns its (id, url)."""
    session = _call(
        "checkout",
        stripe_client().v1.checkout.sessions.create,
        params=params,
        options={"idempotency_key": idempotency_key},
    )
    return session.id, session.url


def portal_session_create(*, customer: str, return_url: str) -> str:
    """Create a Customer Portal session; returns its url."""
    session = _call(
        "portal",
        stripe_client().v1.billing_portal.sessions.create,
        params={"customer": customer, "return_url": return_url},
    )
    return session.url


def price_resolve(*, price: str) -> str:
    """The price id for a configured price id or lookup key."""
    if price.startswith("price_"):
        return price
    found = _call(
        "price lookup",
        stripe_client().v1.prices.list,
        params={"lookup_keys": [price], "active": True, "limit": 1},
    )
    if not found.data:
        raise BillingError("This plan is not available right now.", permanent=True)
    return found.data[0].id


def subscription_fetch(*, subscription_id: str) -> dict:
    """Stripe's current copy of a subscription, as plain data."""
    sub = _call("subscription", stripe_client().v1.subscriptions.retrieve, subscription_id)
    return sub.to_dict(recursive=True)


def event_verify(*, payload: bytes, signature: str | None) -> dict:
    """The event in a webhook body, after checking Stripe's signature over the raw bytes."""
    if not signature or not settings.STRIPE_WEBHOOK_SECRET:
        raise SignatureError("missing signature or secret")
    import stripe

    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            text, signature, settings.STRIPE_WEBHOOK_SECRET, stripe.Webhook.DEFAULT_TOLERANCE
        )
        event = json.loads(text)
    except (UnicodeDecodeError, ValueError, stripe.SignatureVerificationError) as e:
        raise SignatureError(str(e)) from e
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        raise SignatureError("not an event")
    return event
