"""Authorization housekeeping: the seller's yearly renewal and the operator's alarms.

Amazon asks sellers to re-authorize a public app every 365 days ("Renew
Authorizations"); after that LWA answers invalid_grant, which stops the
connection as a revocation does. The owner is warned by email once per
authorization, REAUTHORIZE_NOTICE before, with a link to the connect flow
(which renews the team's existing connection: `connection_connect`).

The app's LWA client secret must be rotated every 180 days ("Rotate your
Application's LWA Credentials"). When LWA refuses every configured secret,
only the operator can help: an OperatorAlarm is raised (logged at ERROR once,
listed by /healthz) and cleared by the next token LWA grants.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cvrtracker.amazon.models import (
    AUTHORIZATION_LIFETIME,
    REAUTHORIZE_NOTICE,
    OperatorAlarm,
    SellerConnection,
)
from cvrtracker.lib import clock
from cvrtracker.lib.emails import email_send

logger = logging.getLogger(__name__)

LWA_CREDENTIALS_MESSAGE = (
    "Login with Amazon refused every configured client secret (invalid_client). "
    "The app's LWA client secret has probably expired or been rotated: set "
    "LWA_CLIENT_SECRET to the current secret from Solution Provider Portal "
    "(Develop Apps → LWA credentials → View) and, during a rotation, "
    "LWA_CLIENT_SECRET_PREVIOUS to the one it replaces; then restart. No seller "
    "needs to reconnect: refresh tokens survive a rotation."
)


def operator_alarm_raise(*, key: str, message: str) -> bool:
    """Record the alarm (logged at ERROR when it starts); True if it was not already active."""
    now = timezone.now()
    with transaction.atomic():
        alarm, created = OperatorAlarm.objects.select_for_update().get_or_create(
            key=key, defaults={"message": message, "raised_at": now}
        )
        if not created:
            if alarm.cleared_at is None:
                return False
            alarm.message, alarm.raised_at, alarm.cleared_at = message, now, None
            alarm.save()
    logger.error("OPERATOR ACTION NEEDED [%s]: %s", key, message)
    return True


def operator_alarm_clear(*, key: str) -> bool:
    """End the alarm if it is active; True if it was."""
    cleared = OperatorAlarm.objects.filter(key=key, cleared_at=None).update(
        cleared_at=timezone.now()
    )
    if cleared:
        logger.warning("Operator alarm %s cleared", key)
    return bool(cleared)


def operator_alarms_active() -> list[str]:
    """The keys of the alarms an operator has to act on now."""
    return list(OperatorAlarm.objects.filter(cleared_at=None).values_list("key", flat=True))


def lwa_credentials_refused() -> None:
    operator_alarm_raise(
        key=OperatorAlarm.Key.LWA_CLIENT_CREDENTIALS, message=LWA_CREDENTIALS_MESSAGE
    )


def lwa_credentials_accepted() -> None:
    operator_alarm_clear(key=OperatorAlarm.Key.LWA_CLIENT_CREDENTIALS)


def reconnect_path(connection: SellerConnection) -> str:
    """The connect flow for the connection's region, renewing this very connection."""
    return f"{reverse('amazon:connect', args=[connection.region])}?renew={connection.code}"


def connections_warn_reauthorization(*, now: datetime | None = None) -> int:
    """Email the owners of active connections whose authorization expires within
    REAUTHORIZE_NOTICE, once per authorization; returns how many were sent.

    Safe to run as often as wanted and from several schedulers: each warning is
    claimed by a conditional update before it is sent.
    """
    now = now or clock.now()
    due = SellerConnection.objects.filter(
        status=SellerConnection.Status.ACTIVE,
        reauthorize_warned_at=None,
        authorized_at__lte=now - AUTHORIZATION_LIFETIME + REAUTHORIZE_NOTICE,
        authorized_at__gt=now - AUTHORIZATION_LIFETIME,
    ).select_related("team")
    sent = 0
    for connection in due:
        with transaction.atomic():
            claimed = SellerConnection.objects.filter(
                pk=connection.pk,
                reauthorize_warned_at=None,
                authorized_at=connection.authorized_at,
                status=SellerConnection.Status.ACTIVE,
            ).update(reauthorize_warned_at=now)
            owner = connection.team.owner()
            if not claimed or owner is None:
                continue
            context = {
                "user": owner,
                "team": connection.team,
                "account": connection.store_name or connection.selling_partner_id,
                "expires_at": connection.authorization_expires_at(),
                "reconnect_path": reconnect_path(connection),
            }
            transaction.on_commit(
                lambda to=owner.email, ctx=context, c=connection.code: _send(to, ctx, c)
            )
            sent += 1
    return sent


def _send(to: str, context: dict, connection_code) -> None:
    try:
        email_send(to=to, template="amazon-reauthorize", context=context)
    except OSError:
        # Recorded as sent: one lost email beats one every hour. The settings
        # page shows the same request from 30 days before the expiry.
        # The connection, not the owner's address: no personal data in logs.
        logger.exception("could not send the re-authorization warning of %s", connection_code)
