"""API keys: create (the secret is returned once), revoke, and recognise a presented token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from cvrtracker.accounts.models import Team, User
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.api.models import ApiKey
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.billing.limits import API, team_require

TOKEN_PREFIX = "cvrt_"  # noqa: S105 - the public marker of our tokens, not a secret
# "cvrt_" and six characters of the secret: enough to tell a team's keys apart,
# and 220 of its 256 random bits stay unknown.
PREFIX_LENGTH = len(TOKEN_PREFIX) + 6
# Writing last_used_at on every request would cost a write per call; a minute's
# resolution is plenty to tell a key still in use from a forgotten one.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    # The full token: shown to the owner once, never stored.
    token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_key_create(
    *, team: Team, name: str, actor: User, request: HttpRequest | None = None
) -> CreatedKey:
    """A new key of `team`; returns it with its token (the only time the token exists).

    PlanLimitError when the team's plan has no API access (or the team is read-only).
    """
    team_require(team, API)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        team=team,
        name=name,
        prefix=token[:PREFIX_LENGTH],
        digest=_digest(token),
        created_by=actor,
    )
    audit_record(
        action=AuditEntry.Action.API_KEY_CREATED,
        request=request,
        actor=actor,
        team=team,
        target=key,
    )
    return CreatedKey(key=key, token=token)


def api_key_revoke(*, key: ApiKey, actor: User, request: HttpRequest | None = None) -> None:
    """Refuse the key from now on. Revoking is never refused by the plan: it only
    takes access away. Revoking twice keeps the first time."""
    revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    key.refresh_from_db(fields=["revoked_at"])
    if revoked:
        audit_record(
            action=AuditEntry.Action.API_KEY_REVOKED,
            request=request,
            actor=actor,
            team=key.team,
            target=key,
        )


def api_key_authenticate(*, token: str) -> ApiKey | None:
    """The live key whose secret is `token`, or None (unknown, malformed or revoked).

    Keys are found by their public prefix and the digests compared in constant
    time, so the answer's timing tells nothing about how close a guess came.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _digest(token)
    candidates = ApiKey.objects.filter(prefix=token[:PREFIX_LENGTH]).select_related("team")
    key = None
    for candidate in candidates:
        if hmac.compare_digest(candidate.digest, digest):
            key = candidate
    if key is None or key.is_revoked:
        return None
    now = timezone.now()
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_EVERY)
    ).update(last_used_at=now)
    return key


def api_key_record_read(
    *,
    key: ApiKey,
    action: str,
    request: HttpRequest | None = None,
    connection: SellerConnection | None = None,
) -> None:
    """Audit one read of Amazon data through the API, before it is served: the
    privacy policy promises that every access to it leaves a trace. The actor is
    the key's creator (whose key it is), the target the seller connection read."""
    audit_record(
        action=action, request=request, actor=key.created_by, team=key.team, target=connection
    )
