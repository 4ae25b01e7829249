"""What the privacy promises need to remember: exports, usage data, purge receipts,
anonymous counters, rights and support requests.

Every rule about how long something is kept lives in retention.py and reads its
period from settings; the privacy page renders the same settings (privacy/policy.py).
"""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.db import models
from django.utils import timezone

from cvrtracker.lib.crypto import associated_data
from cvrtracker.lib.fields import EncryptedTextField


class DataExport(models.Model):
    """A ZIP of everything held about a user and their team (privacy/export.py).

    Built by the worker; the file lives under EXPORTS_DIR, encrypted with AES-256-GCM
    under a key of its own (wrapped by the master key here), so that deleting this
    row's key, or the row, leaves nothing readable behind. Only `requested_by` may
    download it, until `expires_at` (EXPORT_LINK_DAYS after it was ready).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        RUNNING = "running", "Being built"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    TABLE = "privacy_dataexport"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="data_exports"
    )
    team = models.ForeignKey("accounts.Team", models.CASCADE, related_name="data_exports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # 0-100 and what is being written now, for the progress indicator.
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=100, blank=True)
    # The file's name under EXPORTS_DIR (random, never derived from the user) and its key.
    file_name = models.CharField(max_length=100, blank=True)
    wrapped_key = models.BinaryField(null=True, editable=False)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.code} ({self.status})"

    def key_context(self) -> bytes:
        """What the file's key is wrapped for (the master key's associated data)."""
        return associated_data(self.TABLE, str(self.code), "file_key")


class UsageEvent(models.Model):
    """One signed-in request: who, from which IP and browser, which page.

    For security and product analytics only; written in batches by
    privacy/usage.py's middleware, kept USAGE_RETENTION_DAYS, shown to the user
    and included in their export. The IP address, browser and page are encrypted
    (lib/fields.py) under the row's `code`: no index, as nothing searches them."""

    # Names the row in the encrypted columns' associated data (set before the batched
    # INSERT, which gives no id back on every database). Not unique: a random UUID
    # needs no index to be one, and each event would pay for it.
    code = models.UUIDField(default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    ip = EncryptedTextField(max_length=39, null=True, blank=True)
    user_agent = EncryptedTextField(max_length=300, blank=True)
    method = models.CharField(max_length=8)
    path = EncryptedTextField(max_length=300)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-at"], name="privacy_usage_user_at"),
            models.Index(fields=["at"], name="privacy_usage_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.method} {self.path}"


class ConnectionDeletion(models.Model):
    """The team's receipt for one seller account's Amazon data: when calls stopped,
    why, and what was deleted when (privacy/purge.py).

    Holds counts only: no seller id, store name, ASIN or SKU. It belongs to the team
    (shown on Settings → Privacy, emailed to the owner) and goes with the team."""

    class Reason(models.TextChoices):
        DISCONNECTED = "disconnected", "Disconnected by your team"
        REVOKED = "revoked", "Access revoked or expired at Amazon"
        ACCOUNT_DELETED = "account_deleted", "Account deleted"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey("accounts.Team", models.CASCADE, related_name="connection_deletions")
    # The connection's public code while it existed (its rows are gone afterwards).
    connection_code = models.UUIDField()
    region = models.CharField(max_length=2, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    # When calls to Amazon stopped and the data key was destroyed (disconnect), or
    # when the revocation was first seen: the 30-day limit counts from here.
    stopped_at = models.DateTimeField()
    purged_at = models.DateTimeField(null=True, blank=True)
    # {"listings": 200, "sales_traffic_days": 731, "orders": 3374, ...}
    counts = models.JSONField(default=dict, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-stopped_at"]

    def __str__(self) -> str:
        return f"deletion of {self.connection_code} ({self.reason})"


class AnonymousCounter(models.Model):
    """A site-wide total that outlives purges: no team, seller id, ASIN or SKU.

    Keys are fixed names ("connections_purged", "listings_purged", ...); each
    counts many sellers, so no value describes one."""

    key = models.CharField(max_length=60, unique=True)
    value = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"


class RightsRequest(models.Model):
    """A privacy rights request (access, deletion, correction), from a user or from
    anyone by the public form; answered by staff within RIGHTS_REQUEST_DUE_DAYS
    (45 under the CCPA). Kept RIGHTS_REQUEST_RETENTION_DAYS after it is closed (the
    CCPA asks for 24 months of request records)."""

    class Kind(models.TextChoices):
        ACCESS = "access", "Access: a copy of my information"
        DELETION = "deletion", "Deletion of my information"
        CORRECTION = "correction", "Correction of my information"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Who asked and what: encrypted (lib/fields.py); nothing looks a request up by them.
    name = EncryptedTextField(max_length=150)
    email = EncryptedTextField(max_length=254, form_class=forms.EmailField)
    california_resident = models.BooleanField(default=False)
    details = EncryptedTextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answer = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["due_at"]

    def __str__(self) -> str:
        return f"{self.kind} request {self.code} ({self.status})"


class SupportRequest(models.Model):
    """A message through the contact form: stored, confirmed to the sender, emailed
    to SUPPORT_EMAIL, answered by staff; kept SUPPORT_RETENTION_DAYS after closing."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Who wrote and what: encrypted (lib/fields.py); nothing looks a message up by them.
    name = EncryptedTextField(max_length=150)
    email = EncryptedTextField(max_length=254, form_class=forms.EmailField)
    subject = EncryptedTextField(max_length=200)
    message = EncryptedTextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answer = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"support request {self.code} ({self.status})"
