"""Seller connections: one authorized Amazon seller account of a team.

Plaintext here is limited to what queries need: identifiers, the region,
statuses, timestamps and public marketplace facts. Tokens and anything the
seller owns (the store name) are encrypted with the connection's own data key
(cvrtracker/lib/crypto.py); destroying that key makes all of it unreadable.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from cvrtracker.accounts.models import Team, User
from cvrtracker.lib.crypto import DataKey, associated_data, key_provider, new_data_key


class Region(models.TextChoices):
    # Authorizations are regional: one NA grant covers US, CA, MX and BR.
    NA = "NA", "North America"
    EU = "EU", "Europe"
    FE = "FE", "Far East"


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

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
        return self.status == self.Status.ACTIVE

    def marketplace_names(self) -> list[str]:
        return [m.get("name") or m.get("id", "") for m in self.marketplaces]

    def sync_times(self) -> list[tuple[str, Any]]:
        """(label, last success) per kind of data, for the settings page."""
        return [
            ("Marketplaces", self.marketplaces_synced_at),
            ("Listings", self.listings_synced_at),
            ("Sales & Traffic", self.sales_traffic_synced_at),
            ("Inventory", self.inventory_synced_at),
            ("Orders", self.orders_synced_at),
        ]


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
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key
