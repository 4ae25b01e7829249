"""A team's subscription (a local copy that only webhooks change), the events
already applied, the emails already sent, and invoice records kept for accounting."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from cvrtracker.accounts.models import Team
from cvrtracker.billing import plans
from cvrtracker.billing.plans import Plan


class Phase(models.TextChoices):
    """What the seller sees; derived from the status, never stored."""

    TRIAL = "trial", "Free trial"
    ACTIVE = "active", "Active"
    CANCELLING = "cancelling", "Cancelling"
    PAST_DUE = "past_due", "Payment failed"
    ENDED = "ended", "Ended"


class Subscription(models.Model):
    class Status(models.TextChoices):
        # Stripe's subscription statuses, verbatim.
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"
        UNPAID = "unpaid", "Unpaid"
        INCOMPLETE = "incomplete", "Incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete (expired)"
        PAUSED = "paused", "Paused"

    LIVE_STATUSES = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE)

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.OneToOneField(Team, models.CASCADE, related_name="subscription")
    plan = models.CharField(max_length=20, default=plans.TRIAL.key)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TRIALING)
    # The free trial every team starts with, before (and without) Stripe.
    trial_ends_at = models.DateTimeField()
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    # Stripe's `created` of that subscription: a newer subscription of the same
    # team wins over late events about an older one.
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    stripe_trial_end = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    cancel_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.team} on {self.plan} ({self.status})"

    @property
    def on_stripe(self) -> bool:
        return bool(self.stripe_subscription_id)

    @property
    def can_subscribe(self) -> bool:
        """False while a Stripe subscription is live: plan changes go through the Portal."""
        return not (self.on_stripe and self.status in self.LIVE_STATUSES)

    def _local_trial_running(self, now: datetime) -> bool:
        return now < self.trial_ends_at

    def phase(self, now: datetime | None = None) -> Phase:
        now = now or timezone.now()
        if not self.on_stripe or self.status == self.Status.INCOMPLETE:
            return Phase.TRIAL if self._local_trial_running(now) else Phase.ENDED
        if self.status == self.Status.TRIALING:
            return Phase.CANCELLING if self.ends_at() else Phase.TRIAL
        if self.status == self.Status.ACTIVE:
            return Phase.CANCELLING if self.ends_at() else Phase.ACTIVE
        if self.status == self.Status.PAST_DUE:
            return Phase.PAST_DUE if now < self.grace_ends_at() else Phase.ENDED
        return Phase.ENDED

    def effective_plan(self, now: datetime | None = None) -> Plan:
        """The plan whose limits apply now (the last one paid for once it has ended)."""
        now = now or timezone.now()
        if (not self.on_stripe or self.status == self.Status.INCOMPLETE) and (
            self._local_trial_running(now) or not self.plan_is_paid()
        ):
            return plans.TRIAL
        return plans.plan_get(self.plan)

    def plan_is_paid(self) -> bool:
        return self.plan in {p.key for p in plans.PAID_PLANS}

    def is_read_only(self, now: datetime | None = None) -> bool:
        if self.phase(now) != Phase.ENDED:
            return False
        # Without Stripe there is no way to pay: a self-hosted or demo install
        # must never lock its own users out.
        return settings.BILLING_ENFORCED

    def trial_end(self) -> datetime:
        if self.on_stripe and self.status == self.Status.TRIALING and self.stripe_trial_end:
            return self.stripe_trial_end
        return self.trial_ends_at

    def days_left(self, now: datetime | None = None) -> int:
        """Whole days of trial left, counting a started day as a day."""
        now = now or timezone.now()
        seconds = (self.trial_end() - now).total_seconds()
        return max(0, -int(-seconds // 86400))

    def ends_at(self) -> datetime | None:
        """When a cancelled subscription stops, or None if it renews."""
        if self.cancel_at:
            return self.cancel_at
        if self.cancel_at_period_end:
            return self.current_period_end
        return None

    def grace_ends_at(self) -> datetime:
        since = self.past_due_since or timezone.now()
        return since + timedelta(days=settings.BILLING_GRACE_DAYS)


class ProcessedEvent(models.Model):
    """A Stripe event already applied: its row commits with the change it made,
    so a redelivered event finds it and changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField()
    processed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type})"


class Notice(models.Model):
    """An email already sent, so that each is sent once (whatever Stripe redelivers)."""

    class Kind(models.TextChoices):
        TRIAL_ENDING = "trial_ending", "Trial ending"
        PAYMENT_FAILED = "payment_failed", "Payment failed"

    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What the notice is about: the trial's end, or the invoice id.
    key = models.CharField(max_length=255)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "kind", "key"], name="billing_notice_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class BillingRecord(models.Model):
    """One invoice, kept for accounting with minimal fields.

    Tax law outlives the account (see the privacy policy): deleting the team sets
    `team` to NULL and the copied `team_code` still ties the record to its customer.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        UNCOLLECTIBLE = "uncollectible", "Uncollectible"
        VOID = "void", "Void"

    # Invoice statuses only move forward; a late event never drags one back.
    RANK = {
        Status.DRAFT: 0,
        Status.OPEN: 1,
        Status.PAID: 2,
        Status.UNCOLLECTIBLE: 2,
        Status.VOID: 2,
    }

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(
        Team, models.SET_NULL, null=True, blank=True, related_name="billing_records"
    )
    team_code = models.UUIDField(db_index=True)
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=100, blank=True)
    # In the currency's minor unit, as Stripe gives it.
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    issued_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return f"{self.stripe_invoice_id} {self.amount} {self.currency}"

    def amount_display(self) -> str:
        return amount_display(self.amount, self.currency)


# Stripe gives these amounts in whole units (docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)


def amount_display(amount: int, currency: str) -> str:
    """A Stripe amount (in the currency's minor unit) as "1,234.50 USD"."""
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return f"{amount:,} {currency.upper()}"
    return f"{amount / 100:,.2f} {currency.upper()}"
