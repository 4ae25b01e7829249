"""Alerts a team opted into: rules, channels, the alerts raised and their deliveries.

Nothing is sent by default: a rule sends only once a team member switched it on
(`opted_in_by`, `opted_in_at`, audited) and only to the channels it names.

Data at rest:
- a channel's target (an email address, a webhook or Slack URL, which for Slack is a
  secret) and a webhook's signing secret are AES-256-GCM ciphertexts under the
  channel's own data key, wrapped by the master key (`wrapped_key`, lib/crypto.py);
- an alert's details (titles, before → after, figures) are derived from Amazon data:
  one ciphertext under the seller connection's data key (`payload_enc`), so
  disconnecting and shredding the connection's key makes them unreadable, and its
  rows go with the connection (CASCADE).
Plaintext holds only what queries need: kinds, states, the marketplace, ASIN, SKU
and the day (as ListingChange does).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from cvrtracker.accounts.models import Team
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib.crypto import associated_data
from cvrtracker.lib.fields import EncryptedTextField


class AlertChannel(models.Model):
    TABLE = "alerts_alertchannel"

    class Kind(models.TextChoices):
        # Same values as billing.plans.EMAIL / WEBHOOK / SLACK (team_can's channel=).
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"
        SLACK = "slack", "Slack"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        # An email address that is not a member's confirmed one, until its owner
        # follows the confirmation link: it receives nothing but that link.
        UNCONFIRMED = "unconfirmed", "Waiting for confirmation"
        # Failed permanently or too many times in a row; the team owner was told.
        PAUSED = "paused", "Paused"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alert_channels")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The team's label for the channel: encrypted (lib/fields.py), it may name a person.
    name = EncryptedTextField(max_length=100)
    # An email channel to a team member: their confirmed address at send time (no copy
    # kept here). Null for any other address, a webhook or Slack.
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_channels",
    )
    wrapped_key = models.BinaryField(null=True, editable=False)
    # The address (non-member email) or URL; empty for a member's email channel.
    target_enc = models.BinaryField(null=True, editable=False)
    # The webhook's HMAC-SHA256 signing secret; null for email and Slack.
    secret_enc = models.BinaryField(null=True, editable=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True, default="")
    # Failed deliveries in a row (any success resets it).
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["team", "kind"], name="alerts_channel_team")]

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"

    def context(self) -> bytes:
        """What the channel's data key is wrapped for."""
        return f"cvrt:alerts:channel|{self.code}".encode()

    def aad(self, field: str) -> bytes:
        return associated_data(self.TABLE, str(self.code), field)


class AlertRule(models.Model):
    """One thing a team wants to hear about, on the channels it chose.

    `params` by kind (validated by the services):
      listing_changed    {"fields": [ListingChange.Field values among title, bullet,
                          description, main_image, image, price, status, brand]}
      listing_suppressed {}  (suppressed or inactive)
      listing_issue      {"severity": "error" | "warning"}  (that severity or worse)
      out_of_stock       {"back_in_stock": bool}  (also tell when it is back)
      low_stock          {"days": int}  (days of cover below N)
      price_changed      {"pct": float}  (by more than N %, either way)
      buy_box_low        {"pct": float}  (Buy Box share below N %)
      conversion_drop    {}  (statistics of impact-statistics.md §4)
      sessions_drop      {"pct": float}  (sessions down by more than N %)
      digest             {"frequency": "daily" | "weekly"}
    """

    class Kind(models.TextChoices):
        LISTING_CHANGED = "listing_changed", "Listing changed"
        LISTING_SUPPRESSED = "listing_suppressed", "Listing suppressed or inactive"
        LISTING_ISSUE = "listing_issue", "New listing issue"
        OUT_OF_STOCK = "out_of_stock", "Out of stock"
        LOW_STOCK = "low_stock", "Low stock"
        PRICE_CHANGED = "price_changed", "Price changed"
        BUY_BOX_LOW = "buy_box_low", "Buy Box share low"
        CONVERSION_DROP = "conversion_drop", "Conversion dropped"
        SESSIONS_DROP = "sessions_drop", "Sessions dropped"
        DIGEST = "digest", "Digest"

    class Scope(models.TextChoices):
        TRACKED = "tracked", "All tracked products"
        CHOSEN = "chosen", "Chosen products"
        MARKETPLACE = "marketplace", "One marketplace"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alert_rules")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.TRACKED)
    # CHOSEN and MARKETPLACE scopes name a seller account; CHOSEN its ASINs.
    connection = models.ForeignKey(
        SellerConnection,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alert_rules",
    )
    marketplace_id = models.CharField(max_length=32, blank=True, default="")
    asins = models.JSONField(default=list, blank=True)
    # Off until a member switches it on; who and when are kept (and audited).
    enabled = models.BooleanField(default=False)
    opted_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    opted_in_at = models.DateTimeField(null=True, blank=True)
    channels = models.ManyToManyField(
        AlertChannel, through="RuleChannel", related_name="rules", blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["team", "enabled", "kind"], name="alerts_rule_team")]

    def __str__(self) -> str:
        return f"{self.kind} ({'on' if self.enabled else 'off'})"


class RuleChannel(models.Model):
    """A rule sends on a channel until someone unsubscribes that pair (RFC 8058 link)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="subscriptions")
    channel = models.ForeignKey(
        AlertChannel, on_delete=models.CASCADE, related_name="subscriptions"
    )
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "channel"], name="alerts_rulechannel_pair")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} → {self.channel_id}"


class AlertCondition(models.Model):
    """De-duplication and cooldown: a condition (a rule × a product, or × the account)
    alerts once when it starts and not again until it has cleared."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="conditions")
    connection = models.ForeignKey(SellerConnection, on_delete=models.CASCADE, related_name="+")
    # e.g. "ATVPDKIKX0DER|B0XXXXXXXX"; per rule kind (services decide).
    key = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    # Detector state carried between evaluations (e.g. a CUSUM's S and last day):
    # figures derived from Amazon data, encrypted under the connection's key.
    state_enc = models.BinaryField(null=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "connection", "key"], name="alerts_condition")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({'active' if self.active else 'cleared'})"


class EvaluationCursor(models.Model):
    """How far a connection's listing changes have been read for alerts (ListingChange.id)."""

    connection = models.OneToOneField(
        SellerConnection, on_delete=models.CASCADE, related_name="alert_cursor"
    )
    last_change_id = models.BigIntegerField(default=0)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.connection_id} after {self.last_change_id}"


class Alert(models.Model):
    """One event worth telling: stored once per (rule, key), whatever retries happen."""

    TABLE = "alerts_alert"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alerts")
    # SET_NULL: the history outlives a deleted rule (its kind is kept here).
    rule = models.ForeignKey(
        AlertRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    kind = models.CharField(max_length=20, choices=AlertRule.Kind.choices)
    connection = models.ForeignKey(
        SellerConnection, on_delete=models.CASCADE, related_name="alerts"
    )
    marketplace_id = models.CharField(max_length=32, blank=True, default="")
    asin = models.CharField(max_length=16, blank=True, default="")
    sku = models.CharField(max_length=200, blank=True, default="")
    # The marketplace day it is about: the product page opens at it.
    day = models.DateField()
    # Deterministic per event (e.g. "change|<ListingChange.code>", "oos|<mkt>|<asin>|<day>",
    # "digest|<date>"): a retried evaluation stores nothing twice.
    key = models.CharField(max_length=200)
    # What happened, by kind (title, before/after, figures), as JSON under the
    # connection's data key.
    payload_enc = models.BinaryField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "key"], name="alerts_alert_key")]
        indexes = [models.Index(fields=["team", "-created_at"], name="alerts_alert_team")]

    def __str__(self) -> str:
        return f"{self.kind} {self.asin} {self.day}"

    def aad(self) -> bytes:
        return associated_data(self.TABLE, str(self.code), "payload")


class Delivery(models.Model):
    """One alert on one channel: sent once, retried with backoff, never twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENT = "sent", "Sent"
        # Gave up: permanent error or attempts exhausted.
        FAILED = "failed", "Failed"
        # Not sent: the channel was paused or removed, or the pair unsubscribed,
        # or the rule switched off before it went.
        SKIPPED = "skipped", "Not sent"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker holds a delivery until `claimed_until` (a lease); a worker killed
    # mid-send leaves it to be taken again once the lease ends.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, default="")
    last_error = models.CharField(max_length=500, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel"], name="alerts_delivery_pair")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="alerts_delivery_due")]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.channel_id} {self.status}"
