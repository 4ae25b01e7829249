"""Seller connections: one authorized Amazon seller account of a team.

Plaintext here is limited to what queries need: identifiers, the region,
statuses, timestamps and public marketplace facts. Tokens and anything the
seller owns (the store name) are encrypted with the connection's own data key
(cvrtracker/lib/crypto.py); destroying that key makes all of it unreadable.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count, Q

from cvrtracker.accounts.models import Team, User
from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.lib import clock
from cvrtracker.lib.crypto import DataKey, associated_data, key_provider, new_data_key


class Region(models.TextChoices):
    # Authorizations are regional: one NA grant covers US, CA, MX and BR.
    NA = "NA", "North America"
    EU = "EU", "Europe"
    FE = "FE", "Far East"


# Amazon: "public applications must be re-authorized by the selling partner every
# 365 days" (developer-docs.amazon.com/sp-api/docs/renew-authorizations).
AUTHORIZATION_LIFETIME = timedelta(days=365)
# How long before that the owner is asked to re-authorize.
REAUTHORIZE_NOTICE = timedelta(days=30)

# Key of a `SellerConnection.marketplaces` entry: Amazon refused Sales & Traffic
# there (its reason); kept across marketplace refreshes, and nothing more is planned.
ST_REFUSED = "salesTrafficRefused"
# Key of a `SellerConnection.marketplaces` entry: how many SKUs the seller's merchant
# listings report had there at the last listings run (0: Amazon lists the seller as
# participating, docs#254, but nothing is sold there). Kept across refreshes.
LISTED = "listedSkus"
# When that report was last read there (ISO time): the listings sweep asks for it at
# most every LISTINGS_DISCOVERY_MINUTES (amazon/sync/catalog.py).
LISTED_AT = "listedAt"


class SellerConnectionQuerySet(models.QuerySet):
    def live(self) -> SellerConnectionQuerySet:
        """Connections whose data may still be read: never stopped (disconnect or
        revocation), their data key intact. Every page and API endpoint reads through
        this (accounts/access.py), so a stopped connection is gone at once, not at the
        purge."""
        return self.filter(stopped_at__isnull=True, wrapped_data_key__isnull=False).exclude(
            status__in=STOPPED_STATUSES
        )

    def stopped(self) -> SellerConnectionQuerySet:
        """Connections whose calls stopped for good, waiting for (or half-way through)
        the purge of their data (privacy/purge.py)."""
        return self.filter(
            Q(stopped_at__isnull=False)
            | Q(wrapped_data_key__isnull=True)
            | Q(status__in=STOPPED_STATUSES)
        )


class SellerConnection(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Connected"
        REVOKED = "revoked", "Access revoked"
        DISCONNECTED = "disconnected", "Disconnected"
        ERROR = "error", "Needs attention"

    TABLE = "amazon_sellerconnection"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="seller_connections")
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True)
    region = models.CharField(max_length=2, choices=Region.choices)
    # Amazon's seller id: an identifier, kept in plaintext so that one seller
    # account can belong to one team only (unique across teams).
    selling_partner_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)

    # The connection's AES-256 data key, wrapped by the master key. None once
    # destroyed: every ciphertext below (and in other tables) is then unreadable.
    wrapped_data_key = models.BinaryField(null=True, editable=False)
    refresh_token_enc = models.BinaryField(null=True, editable=False)
    access_token_enc = models.BinaryField(null=True, editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    store_name_enc = models.BinaryField(null=True, editable=False)
    # Public marketplace facts from getMarketplaceParticipations (id, name,
    # countryCode, defaultCurrencyCode, domainName) and the participation flags.
    marketplaces = models.JSONField(default=list, blank=True)

    # Due timestamp: the scheduler loop polls it (status=active, next_sync_at <= now)
    # and claims a row with a conditional update on its old value.
    next_sync_at = models.DateTimeField(null=True, blank=True)
    # Last success per kind of data, shown on Settings → Amazon.
    marketplaces_synced_at = models.DateTimeField(null=True, blank=True)
    listings_synced_at = models.DateTimeField(null=True, blank=True)
    sales_traffic_synced_at = models.DateTimeField(null=True, blank=True)
    inventory_synced_at = models.DateTimeField(null=True, blank=True)
    orders_synced_at = models.DateTimeField(null=True, blank=True)
    # The last problem, in words a seller understands (never a token or raw body).
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    # When the seller last granted access through the consent flow (connect or
    # renewal). Public apps must be re-authorized every 365 days ("Renew
    # Authorizations"); afterwards LWA answers invalid_grant.
    authorized_at = models.DateTimeField(null=True, blank=True)
    # When the owner was warned that this authorization expires; cleared by a renewal.
    reauthorize_warned_at = models.DateTimeField(null=True, blank=True)
    # When calls to Amazon stopped for good: the disconnect, or the first time LWA
    # answered invalid_grant. The data key is destroyed at that moment and every
    # SP-API-derived row must be gone AMAZON_DATA_PURGE_DAYS later (privacy/purge.py,
    # which deletes this row too once its data is gone).
    stopped_at = models.DateTimeField(null=True, blank=True, db_index=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SellerConnectionQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "next_sync_at"], name="amazon_conn_due")]

    def __str__(self) -> str:
        return f"{self.selling_partner_id} ({self.region})"

    # Encryption helpers: each ciphertext is bound to this row's code and its field.

    def aad(self, field: str) -> bytes:
        return associated_data(self.TABLE, str(self.code), field)

    def create_data_key(self) -> DataKey:
        """Give this (unsaved or shredded) connection a fresh data key; returns it."""
        raw = new_data_key()
        self.wrapped_data_key = key_provider().wrap(raw, context=self.aad("data_key"))
        return DataKey(raw)

    def data_key(self) -> DataKey:
        """The unwrapped data key; DecryptionError once it has been destroyed."""
        return DataKey.unwrap(self.wrapped_data_key, context=self.aad("data_key"))

    def seal(self, field: str, value: str) -> bytes:
        return self.data_key().encrypt_str(value, aad=self.aad(field))

    def unseal(self, field: str, blob: bytes | memoryview | None) -> str | None:
        if blob is None:
            return None
        return self.data_key().decrypt_str(bytes(blob), aad=self.aad(field))

    @property
    def store_name(self) -> str:
        return self.unseal("store_name", self.store_name_enc) or ""

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE and self.stopped_at is None

    @property
    def is_stopped(self) -> bool:
        """Calls stopped for good and the data is being deleted (see `stopped()`)."""
        return (
            self.stopped_at is not None
            or self.wrapped_data_key is None
            or self.status in STOPPED_STATUSES
        )

    def authorization_expires_at(self) -> datetime | None:
        """When Amazon stops honouring this authorization unless the seller renews it."""
        return self.authorized_at + AUTHORIZATION_LIFETIME if self.authorized_at else None

    def reauthorize_by(self, now: datetime | None = None) -> datetime | None:
        """The expiry, when it is near enough (REAUTHORIZE_NOTICE) to ask the seller
        to renew; None otherwise, and for a connection that is not active."""
        expires = self.authorization_expires_at()
        if not self.is_active or expires is None:
            return None
        return expires if expires - (now or clock.now()) <= REAUTHORIZE_NOTICE else None

    def marketplace_names(self) -> list[str]:
        return [m.get("name") or m.get("id", "") for m in self.marketplaces]

    def sales_traffic_refused(self) -> list[tuple[str, str]]:
        """(marketplace name, Amazon's reason) where Amazon refuses Sales & Traffic reports;
        a site where the seller lists nothing (never opened) is not worth a word."""
        return [
            (m.get("name") or m.get("id", ""), str(m[ST_REFUSED]))
            for m in self.marketplaces
            if m.get(ST_REFUSED) and m.get(LISTED) != 0
        ]

    def recent_days(self) -> dict[str, int]:
        """The report plan's recent marketplace days: fetched, planned, retrying, given up."""
        status = SalesTrafficDay.Status
        window = Q(pk__in=[])
        # Sites where nothing is listed or Amazon refuses the report are said apart.
        asked = {
            m.get("id", "")
            for m in self.marketplaces
            if m.get(LISTED) != 0 and not m.get(ST_REFUSED)
        }
        for market in asked:
            oldest = marketplace_today(market) - timedelta(days=settings.AMAZON_REPORT_DAYS)
            window |= Q(marketplace_id=market, day__gte=oldest)
        # One query per seller account: the settings page shows this for each of them.
        counts = self.sales_traffic_days.filter(window, kind=SalesTrafficDay.Kind.DAY).aggregate(
            done=Count("pk", filter=Q(status__in=[status.DONE, status.CANCELLED])),
            total=Count("pk"),
            retrying=Count("pk", filter=Q(status__in=[status.FATAL, status.FAILED])),
            given_up=Count("pk", filter=Q(status=status.GIVEN_UP)),
        )
        return {**counts, "percent": _percent(counts["done"], counts["total"])}

    def history(self) -> dict[str, int]:
        """The two-year history by Data Kiosk: queries done, planned, retrying, failed for good."""
        status = DataKioskQuery.Status
        failed = Q(status__in=[status.FAILED, status.FATAL])
        # A query given up has nothing due any more (sync/datakiosk.py, _give_up).
        counts = self.datakiosk_queries.aggregate(
            done=Count("pk", filter=Q(status=status.DONE)),
            total=Count("pk"),
            retrying=Count("pk", filter=failed & Q(next_attempt_at__isnull=False)),
            failed=Count("pk", filter=failed & Q(next_attempt_at__isnull=True)),
        )
        return {**counts, "percent": _percent(counts["done"], counts["total"])}

    def sync_times(self) -> list[tuple[str, Any]]:
        """(label, last success) per kind of data, for the settings page."""
        return [
            ("Marketplaces", self.marketplaces_synced_at),
            ("Listings", self.listings_synced_at),
            ("Sales & Traffic", self.sales_traffic_synced_at),
            ("Inventory", self.inventory_synced_at),
            ("Orders", self.orders_synced_at),
        ]


# A disconnected or revoked connection never calls Amazon again: its data is purged
# and a reconnect starts a new connection with a new key.
STOPPED_STATUSES = (SellerConnection.Status.DISCONNECTED, SellerConnection.Status.REVOKED)


def _percent(part: int, whole: int) -> int:
    return int(100 * part / whole) if whole else 0


class RateLimitState(models.Model):
    """Token-bucket state per (connection, operation) when Redis is not configured.

    Written only by amazon/ratelimit.py under a row lock, so every worker process
    and machine on this database shares one bucket per key.
    """

    key = models.CharField(max_length=200, unique=True)
    # pyrate-limiter's GCRA state: the theoretical arrival time, in microseconds.
    tat = models.BigIntegerField(default=0)
    # The rate Amazon last announced in x-amzn-RateLimit-Limit (requests/s).
    observed_rate = models.FloatField(null=True, blank=True)
    # A rolling-window request budget (ratelimit.RequestBudget): grant times, and
    # the moment until which Amazon's 429 told us to wait.
    budget = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class SalesTrafficDay(models.Model):
    """One Sales & Traffic report request: the plan of recent days is these rows, not code.

    `kind=day`: a CHILD-granularity DAY report of one marketplace day (Amazon
    aggregates the by-ASIN section over the whole range, so one report per day).
    `kind=series`: the account-level by-date report over two years that the plan
    asked for before Data Kiosk took over the history; no longer planned, kept so
    that rows already requested finish and old rows keep their meaning.
    `kind=range`: one CHILD report over [day, end_day], whose by-ASIN section gives
    every product's totals over the range (metrics/quick.py): asked first on
    connect, so a new seller sees them within a minute.
    """

    class Kind(models.TextChoices):
        DAY = "day", "One day by ASIN"
        SERIES = "series", "Account series"
        RANGE = "range", "Range totals by ASIN"

    class Status(models.TextChoices):
        DUE = "due", "Due"
        REQUESTED = "requested", "Requested"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "No data"
        FATAL = "fatal", "Failed at Amazon"
        FAILED = "failed", "Failed"
        # Permanently refused, or FATAL too often: not asked again (last_error says why).
        GIVEN_UP = "given_up", "Given up"

    connection = models.ForeignKey(
        SellerConnection, on_delete=models.CASCADE, related_name="sales_traffic_days"
    )
    marketplace_id = models.CharField(max_length=32)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.DAY)
    day = models.DateField()
    end_day = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DUE)
    report_id = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Due timestamp: the scheduler polls it (next_attempt_at <= now) and claims a
    # row by moving it forward with a conditional update; None = nothing to do.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Sales but no sessions yet: traffic arrives days later, so the day is re-pulled.
    is_pending = models.BooleanField(default=False)
    fetched_at = models.DateTimeField(null=True, blank=True)
    # The day's age in marketplace days when it was last fetched: the tapering
    # re-pull (sync/sales_traffic.py) asks again once it is past 7, 14 and 30.
    pulled_age = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "marketplace_id", "kind", "day"], name="amazon_st_unique"
            )
        ]
        indexes = [models.Index(fields=["next_attempt_at"], name="amazon_st_due")]

    def __str__(self) -> str:
        return f"{self.marketplace_id} {self.kind} {self.day} {self.status}"


class SyncJob(models.Model):
    """The schedule of one kind of sync of one connection (listings, inventory, orders).

    `run_id` names the run in progress and survives a crash, so a re-run after a
    killed worker writes the same snapshots (at most one per listing per run).
    `cursor` keeps an incremental position (the orders' lastUpdatedAfter).
    """

    class Kind(models.TextChoices):
        LISTINGS = "listings", "Listings"
        INVENTORY = "inventory", "Inventory"
        ORDERS = "orders", "Orders"

    connection = models.ForeignKey(
        SellerConnection, on_delete=models.CASCADE, related_name="sync_jobs"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # Due timestamp, polled by the scheduler and claimed with a conditional update.
    next_run_at = models.DateTimeField(null=True, blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    cursor = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "kind"], name="amazon_syncjob_unique")
        ]
        indexes = [models.Index(fields=["next_run_at"], name="amazon_syncjob_due")]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.kind}"


class OperatorAlarm(models.Model):
    """A problem only the operator can fix, raised once and cleared when it heals.

    Listed by /healthz ("alerts") and logged at ERROR when raised; sellers see
    a calm message instead (e.g. LWA refusing every configured client secret).
    """

    class Key(models.TextChoices):
        LWA_CLIENT_CREDENTIALS = "lwa_client_credentials", "LWA client credentials refused"

    key = models.CharField(max_length=40, choices=Key.choices, unique=True)
    message = models.TextField()
    raised_at = models.DateTimeField()
    # None while the problem lasts.
    cleared_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key} ({'cleared' if self.cleared_at else 'active'})"


class DataKioskQuery(models.Model):
    """One Data Kiosk query of the two-year history: the backfill plan is these rows.

    `kind=trends`: salesAndTrafficTrends (DAY, CHILD) for up to 30 child ASINs per
    marketplace filter; `kind=by_date`: salesAndTrafficByDate (DAY), the account series.
    Each row moves due → requested → done | failed / fatal (asked again after a
    backoff, at most AMAZON_DATAKIOSK_MAX_ATTEMPTS times), one step per task.
    ASINs are public catalogue identifiers and stay in plaintext.
    """

    class Kind(models.TextChoices):
        TRENDS = "trends", "ASIN trends"
        BY_DATE = "by_date", "Account by date"

    class Status(models.TextChoices):
        DUE = "due", "Due"
        REQUESTED = "requested", "Requested"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        FATAL = "fatal", "Failed at Amazon"

    connection = models.ForeignKey(
        SellerConnection, on_delete=models.CASCADE, related_name="datakiosk_queries"
    )
    marketplace_id = models.CharField(max_length=32)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    asins = models.JSONField(default=list, blank=True)
    # sha256 of the sorted ASINs ("" for by_date): one row per chunk, so planning twice
    # creates nothing new.
    chunk_key = models.CharField(max_length=64, blank=True)
    start_day = models.DateField()
    end_day = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DUE)
    query_id = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Due timestamp, polled and claimed by the scheduler; None = nothing left to do.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "marketplace_id", "kind", "chunk_key"],
                name="amazon_dk_unique_chunk",
            )
        ]
        indexes = [models.Index(fields=["next_attempt_at"], name="amazon_dk_due")]

    def __str__(self) -> str:
        return f"{self.marketplace_id} {self.kind} {len(self.asins)} ASINs {self.status}"
