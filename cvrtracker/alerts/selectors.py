"""Read alerts: their decrypted payloads and the team's alerts (callers resolve the
team through the access helpers first)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cvrtracker.accounts.models import Team
from cvrtracker.lib.crypto import associated_data
from cvrtracker.metrics.keys import ConnectionKeys

from .models import Alert, AlertCondition, AlertRule


def alert_payload(alert: Alert, keys: ConnectionKeys | None = None) -> dict[str, Any]:
    """The alert's details (shape: evaluate.py and digest.py docstrings), decrypted
    with its connection's key (pass `keys` to reuse one for many alerts). Raises
    lib.crypto.DecryptionError when the connection's key is gone."""
    keys = keys or ConnectionKeys(alert.connection)
    return keys.data.decrypt_json(bytes(alert.payload_enc), aad=alert.aad())


def alerts_for_team(*, team: Team, kind: str = "", rule: AlertRule | None = None) -> QuerySet:
    """The team's alerts, newest first, with their connection and deliveries loaded."""
    alerts = Alert.objects.filter(team=team)
    if kind:
        alerts = alerts.filter(kind=kind)
    if rule is not None:
        alerts = alerts.filter(rule=rule)
    return (
        alerts.select_related("connection", "rule")
        .prefetch_related("deliveries__channel")
        .order_by("-created_at", "-id")
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
