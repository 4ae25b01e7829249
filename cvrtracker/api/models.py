"""API keys: a team's read-only credentials for the JSON API.

The secret is never stored. We keep its SHA-256 digest, which is enough to
recognise it: the secret is 32 random bytes, so nobody can find it back from
the digest, and a fast hash costs nothing per request (a slow password hash
only helps secrets people choose). The prefix is the first characters of the
secret, shown in the UI so that a seller can tell keys apart.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from cvrtracker.accounts.models import Team
from cvrtracker.lib.fields import EncryptedTextField


class ApiKey(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, models.CASCADE, related_name="api_keys")
    # The team's label for the key: encrypted (lib/fields.py), it may name a person.
    name = EncryptedTextField(max_length=100)
    # Looked up on every request (api_key_authenticate), hence the index.
    prefix = models.CharField(max_length=16, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
