"""What the alerts history shows for each alert, and the audit of every read of it.

An alert's details are Amazon data encrypted under its connection's key; they are
read through `alert_payload` (selectors.py), said in the words the messages use
(messages.alert_message), and never logged. An alert whose
connection key is gone (the account was disconnected and its key destroyed) is
still listed, with what the plaintext columns say: kind, ASIN, marketplace, day.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.http import Http404, HttpRequest, QueryDict
from django.urls import reverse

from cvrtracker.accounts.models import Team, User
from cvrtracker.alerts.messages import alert_message
from cvrtracker.alerts.models import Alert, Delivery
from cvrtracker.alerts.selectors import alert_payload
from cvrtracker.amazon.marketplaces import MARKETPLACES
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.dashboard.scope import product_scope_for_user
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.models import Listing
from cvrtracker.metrics.keys import ConnectionKeys

# The product page opens on this many days either side of the alert's day, so that
# both what came before and what followed are on the chart (the page itself ends
# the period on the marketplace's last whole day).
DAYS_AROUND = 14
# Lines of a rendered message that the history shows in columns of its own.
SHOWN = {"ASIN", "Marketplace", "Day"}


@dataclass
class DeliveryView:
    channel: str
    channel_kind: str
    status: str
    status_label: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    sent_at: datetime | None


@dataclass
class AlertView:
    code: str
    kind: str
    kind_label: str
    created_at: datetime
    day: date
    asin: str
    sku: str
    marketplace: str
    title: str
    summary: str
    # (label, value) lines of what happened: before → after, figures.
    lines: list[tuple[str, str]]
    product_url: str
    readable: bool
    deliveries: list[DeliveryView] = field(default_factory=list)


def alert_product_url(alert: Alert) -> str:
    """The product page of the alert's product, on the days around its day; "" for an
    alert about no one product (a digest, an account-wide event)."""
    if not alert.asin or not alert.marketplace_id:
        return ""
    path = reverse(
        "dashboard:product", args=[alert.connection.code, alert.marketplace_id, alert.asin]
    )
    q = QueryDict(mutable=True)
    q["period"] = "custom"
    q["start"] = (alert.day - timedelta(days=DAYS_AROUND)).isoformat()
    q["end"] = (alert.day + timedelta(days=DAYS_AROUND)).isoformat()
    return f"{path}?{q.urlencode()}"


def alert_product_exists(alert: Alert, *, user: User) -> bool:
    """Does the alert's product still have a page for `user`: the product page's own
    scope check passes (the account is the team's, the marketplace has data) and the
    ASIN is still listed there?"""
    if not alert.asin or not alert.marketplace_id:
        return False
    try:
        product_scope_for_user(
            user=user,
            account=str(alert.connection.code),
            marketplace=alert.marketplace_id,
            asin=alert.asin,
        )
    except Http404:
        return False
    return Listing.objects.filter(
        connection=alert.connection, marketplace_id=alert.marketplace_id, asin=alert.asin
    ).exists()


def _delivery_view(delivery: Delivery) -> DeliveryView:
    return DeliveryView(
        channel=delivery.channel.name,
        channel_kind=delivery.channel.get_kind_display(),
        status=delivery.status,
        status_label=delivery.get_status_display(),
        attempts=delivery.attempts,
        last_error=delivery.last_error,
        next_attempt_at=(
            delivery.next_attempt_at if delivery.status == Delivery.Status.PENDING else None
        ),
        sent_at=delivery.sent_at,
    )


def alert_views(alerts) -> list[AlertView]:
    """The rows of the history for `alerts` (with connection and deliveries loaded).
    Each connection's key is unwrapped once for the page."""
    keys: dict[int, ConnectionKeys | None] = {}
    views = []
    for alert in alerts:
        if alert.connection_id not in keys:
            try:
                keys[alert.connection_id] = ConnectionKeys(alert.connection)
            except DecryptionError:
                keys[alert.connection_id] = None
        payload, readable = {}, False
        if keys[alert.connection_id] is not None:
            with contextlib.suppress(DecryptionError):
                payload, readable = alert_payload(alert, keys=keys[alert.connection_id]), True
        message = alert_message(alert, payload) if readable else None
        market = MARKETPLACES.get(alert.marketplace_id)
        views.append(
            AlertView(
                code=str(alert.code),
                kind=alert.kind,
                kind_label=alert.get_kind_display(),
                created_at=alert.created_at,
                day=alert.day,
                asin=alert.asin,
                sku=alert.sku,
                marketplace=market.country_code if market else alert.marketplace_id,
                title=str(payload.get("title") or ""),
                summary=message.summary if message else alert.get_kind_display(),
                lines=[line for line in message.lines if line[0] not in SHOWN] if message else [],
                product_url=alert_product_url(alert),
                readable=readable,
                deliveries=[_delivery_view(d) for d in alert.deliveries.all()],
            )
        )
    return views


def alerts_record_read(
    *,
    user: User,
    team: Team,
    alert: Alert | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Audit one read of the alerts history (or of one alert), before it is served:
    alerts hold Amazon data, and every access to it leaves a trace."""
    audit_record(
        action=AuditEntry.Action.ALERTS_READ,
        request=request,
        actor=user,
        team=team,
        target=alert,
    )
