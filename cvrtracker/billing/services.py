"""Billing services: start Checkout or the Customer Portal, and apply Stripe's events.

Access is granted here, from signed webhooks, and only from the subscription as
Stripe holds it when the event is applied (re-fetched), never from the browser
coming back from Checkout.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cvrtracker.accounts.models import Team, User
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record
from cvrtracker.billing import plans
from cvrtracker.billing import stripe as stripe_api
from cvrtracker.billing.models import (
    BillingRecord,
    Notice,
    ProcessedEvent,
    Subscription,
    amount_display,
)
from cvrtracker.billing.plans import Plan
from cvrtracker.billing.stripe import BillingError
from cvrtracker.lib.emails import email_send

log = logging.getLogger(__name__)

# Stripe refuses a Checkout trial_end less than 48 hours ahead.
MIN_CHECKOUT_TRIAL = timedelta(hours=49)


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def subscription_for_team(*, team: Team) -> Subscription:
    """The team's subscription row, created on first use with a trial from the team's creation."""
    sub = Subscription.objects.filter(team=team).first()
    if sub is None:
        sub, _ = Subscription.objects.get_or_create(
            team=team,
            defaults={"trial_ends_at": team.created_at + timedelta(days=plans.TRIAL_DAYS)},
        )
    return sub


def checkout_start(*, team: Team, user: User, plan: Plan, base_url: str, nonce: str) -> str:
    """Create a Checkout Session for `plan`; returns the URL to send the browser to.

    Nothing is saved locally: the subscription appears when Stripe's webhook says so.
    The idempotency key includes the page's nonce, so a double-clicked button
    yields one session while a later visit gets a fresh one.
    """
    sub = subscription_for_team(team=team)
    if not sub.can_subscribe:
        raise BillingError(
            "Your team already has a subscription: change its plan with Manage billing.",
            permanent=True,
        )
    if not plan.purchasable:
        raise BillingError("This plan is not available right now.", permanent=True)
    price = stripe_api.price_resolve(price=plan.price)
    metadata = {"team_code": str(team.code)}
    subscription_data: dict[str, Any] = {"metadata": metadata}
    # Upgrading early keeps the rest of the free trial; a returning customer has had theirs.
    if not sub.on_stripe and sub.trial_ends_at - timezone.now() > MIN_CHECKOUT_TRIAL:
        subscription_data["trial_end"] = int(sub.trial_ends_at.timestamp())
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": price, "quantity": 1}],
        "client_reference_id": str(team.code),
        "metadata": metadata,
        "subscription_data": subscription_data,
        "success_url": base_url
        + reverse("billing:checkout_return")
        + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": base_url + reverse("billing:page"),
    }
    if sub.stripe_customer_id:
        params["customer"] = sub.stripe_customer_id
    else:
        params["customer_email"] = user.email
    _, url = stripe_api.checkout_session_create(
        params=params, idempotency_key=f"checkout:{team.code}:{plan.key}:{nonce}"
    )
    return url


def portal_start(*, team: Team, return_url: str) -> str:
    """A Customer Portal session for the team's Stripe customer; returns its URL."""
    sub = subscription_for_team(team=team)
    if not sub.stripe_customer_id:
        raise BillingError("There is no subscription to manage yet.", permanent=True)
    return stripe_api.portal_session_create(customer=sub.stripe_customer_id, return_url=return_url)


def subscription_cancel_now(
    *, team: Team, actor: User | None = None, context: AuditContext | None = None
) -> bool:
    """Cancel the team's Stripe subscription at once (its account is being deleted).

    Returns True if one was cancelled now, False if there was none live. A
    subscription Stripe no longer has counts as cancelled. BillingError when Stripe
    cannot be reached or refuses: nothing changes here, and the caller retries."""
    sub = Subscription.objects.filter(team=team).first()
    if sub is None or not sub.on_stripe or sub.status not in Subscription.LIVE_STATUSES:
        return False
    try:
        remote = stripe_api.subscription_cancel(subscription_id=sub.stripe_subscription_id)
    except BillingError as error:
        if error.status != 404:
            raise
        remote = None
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=sub.pk)
        if remote is not None:
            _sync(sub, remote)
        if sub.status in Subscription.LIVE_STATUSES:
            sub.status = Subscription.Status.CANCELED
            sub.save(update_fields=["status", "updated_at"])
        audit_record(
            action=AuditEntry.Action.SUBSCRIPTION_CANCELLED,
            context=context,
            actor=actor,
            team=team,
            target=sub,
            detail="account deleted",
        )
    return True


# Webhooks ---------------------------------------------------------------------------


def subscription_apply_event(*, event: dict) -> bool:
    """Apply one verified Stripe event. Returns False if it had already been applied.

    The processed-event row and the change commit together: a crash or a Stripe
    error half-way leaves neither, and Stripe's redelivery applies it again.
    """
    with transaction.atomic():
        _, created = ProcessedEvent.objects.get_or_create(
            event_id=event["id"],
            defaults={"type": event.get("type", ""), "created": _ts(event.get("created"))},
        )
        if not created:
            return False
        handler = _HANDLERS.get(event.get("type", ""))
        if handler is not None:
            handler(event["data"]["object"])
    return True


def _on_checkout_completed(session: dict) -> None:
    if session.get("mode") != "subscription" or not session.get("subscription"):
        return
    sub = _locked_row(
        subscription_id=session["subscription"],
        customer=session.get("customer"),
        team_code=session.get("client_reference_id"),
    )
    if sub is None:
        log.error("checkout session %s names no team of ours", session.get("id"))
        return
    if session.get("customer") and not sub.stripe_customer_id:
        sub.stripe_customer_id = session["customer"]
    _sync(sub, stripe_api.subscription_fetch(subscription_id=session["subscription"]))


def _on_subscription_changed(obj: dict) -> None:
    _refresh(obj["id"], customer=obj.get("customer"), metadata=obj.get("metadata"))


def _on_trial_will_end(obj: dict) -> None:
    sub = _refresh(obj["id"], customer=obj.get("customer"), metadata=obj.get("metadata"))
    if sub is None or sub.status != Subscription.Status.TRIALING or not sub.stripe_trial_end:
        return
    _notify(
        sub,
        kind=Notice.Kind.TRIAL_ENDING,
        key=str(int(sub.stripe_trial_end.timestamp())),
        template="billing-trial-ending",
        context={"trial_end": sub.stripe_trial_end, "plan": plans.plan_get(sub.plan)},
    )


def _invoice_subscription(invoice: dict) -> tuple[str | None, dict]:
    # Since API 2025-03-31.basil an invoice names its subscription under `parent`.
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription"), details.get("metadata") or {}


def _on_invoice(invoice: dict) -> Subscription | None:
    subscription_id, metadata = _invoice_subscription(invoice)
    if not subscription_id:
        return None
    sub = _refresh(subscription_id, customer=invoice.get("customer"), metadata=metadata)
    if sub is not None:
        _record_invoice(sub.team, invoice)
    return sub


def _on_invoice_payment_failed(invoice: dict) -> None:
    sub = _on_invoice(invoice)
    if sub is None:
        return
    amount = amount_display(invoice.get("amount_due") or 0, invoice["currency"])
    _notify(
        sub,
        kind=Notice.Kind.PAYMENT_FAILED,
        key=invoice["id"],
        template="billing-payment-failed",
        context={"amount": amount, "grace_ends_at": sub.grace_ends_at()},
    )


_HANDLERS = {
    "checkout.session.completed": _on_checkout_completed,
    "customer.subscription.created": _on_subscription_changed,
    "customer.subscription.updated": _on_subscription_changed,
    "customer.subscription.deleted": _on_subscription_changed,
    "customer.subscription.paused": _on_subscription_changed,
    "customer.subscription.resumed": _on_subscription_changed,
    "customer.subscription.trial_will_end": _on_trial_will_end,
    "invoice.paid": _on_invoice,
    "invoice.payment_failed": _on_invoice_payment_failed,
}


def _locked_row(
    *, subscription_id: str | None = None, customer: str | None = None, team_code: Any = None
) -> Subscription | None:
    """The team's subscription row, locked until the transaction ends.

    The lock is taken before re-fetching from Stripe, so two deliveries for one
    team apply one after the other, and the later one reads the newer state.
    """
    rows = Subscription.objects.select_for_update().select_related("team")
    if subscription_id and (sub := rows.filter(stripe_subscription_id=subscription_id).first()):
        return sub
    if customer and (sub := rows.filter(stripe_customer_id=customer).first()):
        return sub
    try:
        team = Team.objects.get(code=uuid.UUID(str(team_code)))
    except (ValueError, Team.DoesNotExist):
        return None
    subscription_for_team(team=team)
    return rows.get(team=team)


def _refresh(subscription_id: str, *, customer: str | None, metadata: dict | None):
    sub = _locked_row(
        subscription_id=subscription_id,
        customer=customer,
        team_code=(metadata or {}).get("team_code"),
    )
    if sub is None:
        log.warning("stripe subscription %s belongs to no team of ours", subscription_id)
        return None
    _sync(sub, stripe_api.subscription_fetch(subscription_id=subscription_id))
    return sub


def _sync(sub: Subscription, remote: dict) -> None:
    """Copy Stripe's current subscription into `sub`, unless `sub` follows a newer one."""
    created = _ts(remote["created"])
    if sub.stripe_subscription_id and sub.stripe_subscription_id != remote["id"]:
        # A late event about a team's previous subscription must not replace the
        # one that succeeded it.
        older = sub.stripe_created_at and created and created < sub.stripe_created_at
        if older or (
            sub.status in Subscription.LIVE_STATUSES
            and remote["status"] not in Subscription.LIVE_STATUSES
        ):
            return
    items = remote.get("items", {}).get("data") or []
    plan = plans.NONE
    if items:
        price = items[0]["price"]
        plan = plans.plan_for_price(price_id=price["id"], lookup_key=price.get("lookup_key"))
        if plan is plans.NONE:
            log.error("subscription %s has unknown price %s", remote["id"], price["id"])
    # Since API 2025-03-31.basil the billing period lives on the items.
    period_ends = [item["current_period_end"] for item in items if item.get("current_period_end")]
    sub.plan = plan.key
    sub.status = remote["status"]
    sub.stripe_subscription_id = remote["id"]
    sub.stripe_customer_id = remote.get("customer") or sub.stripe_customer_id
    sub.stripe_created_at = created
    sub.stripe_trial_end = _ts(remote.get("trial_end"))
    sub.current_period_end = _ts(max(period_ends)) if period_ends else None
    sub.cancel_at_period_end = bool(remote.get("cancel_at_period_end"))
    sub.cancel_at = _ts(remote.get("cancel_at"))
    if sub.status == Subscription.Status.PAST_DUE:
        sub.past_due_since = sub.past_due_since or timezone.now()
    else:
        sub.past_due_since = None
    sub.save()


def _record_invoice(team: Team, invoice: dict) -> None:
    status = invoice.get("status") or BillingRecord.Status.OPEN
    fields = {
        "number": invoice.get("number") or "",
        "amount": invoice.get("total") or 0,
        "currency": invoice["currency"],
        "issued_at": _ts(invoice["created"]),
        "status": status,
    }
    record = BillingRecord.objects.select_for_update().filter(stripe_invoice_id=invoice["id"])
    existing = record.first()
    if existing is None:
        BillingRecord.objects.create(
            stripe_invoice_id=invoice["id"], team=team, team_code=team.code, **fields
        )
    elif BillingRecord.RANK.get(status, 0) >= BillingRecord.RANK.get(existing.status, 0):
        record.update(**fields)


def _notify(sub: Subscription, *, kind: str, key: str, template: str, context: dict) -> bool:
    """Send the owner this email after the transaction commits, unless it was sent before."""
    _, created = Notice.objects.get_or_create(team=sub.team, kind=kind, key=key)
    owner = sub.team.owner()
    if not created or owner is None:
        return False
    context = {"team": sub.team, "user": owner, "billing_path": reverse("billing:page"), **context}

    def send() -> None:
        try:
            email_send(to=owner.email, template=template, context=context)
        except OSError:
            # The notice stays recorded: a redelivered event must not mail twice.
            log.exception("could not send %s to %s", template, owner.email)

    transaction.on_commit(send)
    return True


def subscription_remind_trials(*, now: datetime | None = None) -> int:
    """Email the owners of teams whose free trial (without Stripe) ends within three days,
    once per trial. Returns how many were sent. Safe to run as often as wanted."""
    now = now or timezone.now()
    # Subscription rows are made on first use; a team nobody looked at since
    # sign-up has none yet, and its trial ends all the same.
    trial = timedelta(days=plans.TRIAL_DAYS)
    unseen = Team.objects.filter(
        subscription__isnull=True,
        created_at__gt=now - trial,
        created_at__lte=now - trial + timedelta(days=3),
    )
    for team in unseen:
        subscription_for_team(team=team)
    due = Subscription.objects.filter(
        stripe_subscription_id="", trial_ends_at__gt=now, trial_ends_at__lte=now + timedelta(days=3)
    ).select_related("team")
    sent = 0
    for sub in due:
        with transaction.atomic():
            sent += _notify(
                sub,
                kind=Notice.Kind.TRIAL_ENDING,
                key=str(int(sub.trial_ends_at.timestamp())),
                template="billing-trial-ending",
                context={"trial_end": sub.trial_ends_at, "plan": None},
            )
    return sent
