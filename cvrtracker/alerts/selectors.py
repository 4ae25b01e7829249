"""Read alerts: their decrypted payloads and the team's alerts (callers resolve the
team through the access helpers first)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet

from cvrtracker.accounts.models import Team
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib.crypto import associated_data
from cvrtracker.metrics.keys import ConnectionKeys

from .models import Alert, AlertChannel, AlertCondition, AlertRule, Delivery, RuleChannel


def alert_payload(alert: Alert, keys: ConnectionKeys | None = None) -> dict[str, Any]:
    """The alert's details (shape: evaluate.py and digest.py docstrings), decrypted
    with its connection's key (pass `keys` to reuse one for many alerts). Raises
    lib.crypto.DecryptionError when the connection's key is gone."""
    keys = keys or ConnectionKeys(alert.connection)
    return keys.data.decrypt_json(bytes(alert.payload_enc), aad=alert.aad())


def alerts_for_team(*, team: Team, kind: str = "", rule: AlertRule | None = None) -> QuerySet:
    """The team's alerts, newest first, with their connection and deliveries loaded;
    none about a stopped seller account (its key is destroyed, its alerts are purged)."""
    alerts = Alert.objects.filter(team=team, connection__in=SellerConnection.objects.live())
    if kind:
        alerts = alerts.filter(kind=kind)
    if rule is not None:
        alerts = alerts.filter(rule=rule)
    return (
        alerts.select_related("connection", "rule")
        .prefetch_related(
            Prefetch(
                "deliveries",
                queryset=Delivery.objects.select_related("channel").order_by("created_at", "pk"),
            )
        )
        .order_by("-created_at", "-pk")
    )


def conversion_monitoring(*, rule: AlertRule) -> dict[str, Any]:
    """What a conversion-drop rule watches: {"monitored": products judged,
    "too_little_traffic": [ASINs whose traffic cannot show a 30% drop within 28
    days], "dropped": [ASINs with a drop raised]}: say so rather than stay silent."""
    out: dict[str, Any] = {"monitored": 0, "too_little_traffic": [], "dropped": []}
    conditions = AlertCondition.objects.filter(rule=rule, key__startswith="cvr|").select_related(
        "connection"
    )
    keys: dict[int, ConnectionKeys] = {}
    for condition in conditions:
        if condition.connection_id not in keys:
            keys[condition.connection_id] = ConnectionKeys(condition.connection)
        state = condition_state(condition, keys[condition.connection_id])
        asin = condition.key.rsplit("|", 1)[-1]
        if state.get("monitorable"):
            out["monitored"] += 1
        else:
            out["too_little_traffic"].append(asin)
        if condition.active:
            out["dropped"].append(asin)
    return out


def condition_state_aad(condition: AlertCondition) -> bytes:
    return associated_data("alerts_alertcondition", str(condition.pk), "state")


def condition_state(condition: AlertCondition, keys: ConnectionKeys) -> dict[str, Any]:
    """The detector state kept on a condition ({} when none yet)."""
    if not condition.state_enc:
        return {}
    return keys.data.decrypt_json(bytes(condition.state_enc), aad=condition_state_aad(condition))


# pages: the Settings → Alerts and history pages' reads ------------------------------

HISTORY_PAGE_SIZE = 25


def alert_channels_for_team(*, team: Team) -> QuerySet[AlertChannel]:
    """The team's channels, oldest first (the order they were added)."""
    return (
        AlertChannel.objects.filter(team=team).select_related("member").order_by("created_at", "pk")
    )


def alert_rules_for_team(*, team: Team) -> QuerySet[AlertRule]:
    """The team's rules, oldest first, with their account, who switched them on and
    their subscriptions (each with its channel) prefetched."""
    return (
        AlertRule.objects.filter(team=team)
        .select_related("connection", "opted_in_by")
        .prefetch_related(
            Prefetch(
                "subscriptions",
                queryset=RuleChannel.objects.select_related("channel").order_by(
                    "channel__created_at", "pk"
                ),
            )
        )
        .order_by("created_at", "pk")
    )


def alerts_page(*, team: Team, kind: str = "", page: int | str = 1) -> Page:
    """One page of the team's alerts (alerts_for_team), of one kind if `kind` is given.
    A page number out of range gives the last page; one that is not a number, the first."""
    return Paginator(alerts_for_team(team=team, kind=kind), HISTORY_PAGE_SIZE).get_page(page)
