"""Digests: one alert per enabled digest rule, seller account and day (or week).

A daily digest covers the marketplace's last whole day and is created once that day
is over; a weekly one covers the seven days to the last Sunday, created on Monday.
Key "digest|<rule code>|<connection code>|<day>" (the rule's code too: two digest
rules of one team, a daily and a weekly one, each send theirs), so a scheduler run
twice, or two schedulers, store it once.

Its payload (selectors.alert_payload) for the messages:

    {"title": "", "summary": one line, "frequency": "daily" | "weekly",
     "start", "end": ISO days covered, "marketplace_id", "currency",
     "movers": {"down": [...], "up": [...]}, each {"asin", "title", "sessions",
                "previous_sessions", "conversion", "previous_conversion"} (percent),
     "changes": [{"asin", "title", "field", "field_label", "day", "verdict",
                  "verdict_label", "lift", "lift_low", "lift_high", "final"}]}
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction

from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.dashboard.overview import MOVER_MIN_SESSIONS
from cvrtracker.impact.selectors import impact_for_changes
from cvrtracker.lib import clock
from cvrtracker.listings.models import Listing, ListingChange
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.selectors import metrics_window_totals

from .models import Alert, AlertRule

MOVERS = 5
CHANGES = 10
DEFAULT_MARKETPLACE = "ATVPDKIKX0DER"


def digest_period(frequency: str, today: date) -> tuple[date, date] | None:
    """The days a digest created `today` covers; None when none is due today (weekly
    digests come on Mondays)."""
    if frequency == "weekly":
        if today.weekday() != 0:
            return None
        return today - timedelta(days=7), today - timedelta(days=1)
    yesterday = today - timedelta(days=1)
    return yesterday, yesterday


def _market(rule: AlertRule, connection: SellerConnection) -> str:
    if rule.marketplace_id:
        return rule.marketplace_id
    with_metrics = (
        MetricBlock.objects.filter(connection=connection)
        .values_list("marketplace_id", flat=True)
        .order_by("marketplace_id")
        .first()
    )
    ids = [m.get("id") for m in connection.marketplaces if m.get("id")]
    return with_metrics or (ids[0] if ids else DEFAULT_MARKETPLACE)


def digests_create(*, now: datetime | None = None) -> list[Alert]:
    """Create every due digest of every enabled digest rule; returns the new alerts."""
    now = now or clock.now()
    created = []
    rules = AlertRule.objects.filter(enabled=True, kind=AlertRule.Kind.DIGEST).select_related(
        "team", "connection"
    )
    for rule in rules:
        connections = (
            [rule.connection] if rule.connection_id else list(rule.team.seller_connections.live())
        )
        for connection in connections:
            if connection.status == SellerConnection.Status.DISCONNECTED:
                continue
            alert = digest_create(rule=rule, connection=connection, now=now)
            if alert is not None:
                created.append(alert)
    return created


def digest_create(*, rule: AlertRule, connection: SellerConnection, now: datetime) -> Alert | None:
    """The digest of one rule and account due now, once (None: not due, or stored)."""
    from .delivery import deliveries_create  # the sending side

    market = _market(rule, connection)
    period = digest_period(rule.params.get("frequency", "daily"), marketplace_today(market, now))
    if period is None:
        return None
    start, end = period
    key = f"digest|{rule.code}|{connection.code}|{end.isoformat()}"
    if Alert.objects.filter(team_id=rule.team_id, key=key).exists():
        return None
    keys = ConnectionKeys(connection)
    payload = digest_content(connection=connection, market=market, start=start, end=end, keys=keys)
    payload["frequency"] = rule.params.get("frequency", "daily")
    alert = Alert(
        team_id=rule.team_id,
        rule=rule,
        kind=AlertRule.Kind.DIGEST,
        connection=connection,
        marketplace_id=market,
        day=end,
        key=key,
    )
    alert.payload_enc = keys.data.encrypt_json(payload, aad=alert.aad())
    try:
        with transaction.atomic():
            alert.save()
            deliveries_create(alert=alert)
    except IntegrityError:
        return None
    return alert


def digest_content(
    *, connection: SellerConnection, market: str, start: date, end: date, keys: ConnectionKeys
) -> dict[str, Any]:
    """The biggest conversion movers of [start, end] against the as-long period before,
    and the changes of the last 28 days with their impact so far."""
    days = (end - start).days + 1
    previous = (start - timedelta(days=days), start - timedelta(days=1))
    now_totals, before = metrics_window_totals(
        connection=connection, marketplace_id=market, windows=[(start, end), previous]
    )
    asins, i, j = np.intersect1d(
        now_totals.asins, before.asins, assume_unique=True, return_indices=True
    )
    # Over one day the dashboard's threshold is too high: scale it to the period.
    floor = max(10, MOVER_MIN_SESSIONS * days // 30)
    enough = (now_totals.sessions[i] >= floor) & (before.sessions[j] >= floor)
    asins, i, j = asins[enough], i[enough], j[enough]
    rate_now = 100 * now_totals.conversion_rates()[i]
    rate_before = 100 * before.conversion_rates()[j]
    change = rate_now - rate_before
    titles = _titles(connection, market, keys)

    def mover(k: int) -> dict[str, Any]:
        return {
            "asin": str(asins[k]),
            "title": titles.get(str(asins[k]), ""),
            "sessions": int(now_totals.sessions[i[k]]),
            "previous_sessions": int(before.sessions[j[k]]),
            "conversion": round(float(rate_now[k]), 2),
            "previous_conversion": round(float(rate_before[k]), 2),
        }

    down = [mover(k) for k in np.lexsort((asins, change)) if change[k] < 0][:MOVERS]
    up = [mover(k) for k in np.lexsort((asins, -change)) if change[k] > 0][:MOVERS]
    recent = list(
        ListingChange.objects.filter(
            connection=connection,
            marketplace_id=market,
            day__gte=end - timedelta(days=27),
            day__lte=end,
            source=ListingChange.Source.OBSERVED,
        )
        .exclude(asin="")
        .order_by("-day", "-id")[:CHANGES]
    )
    impacts = impact_for_changes(connection=connection, changes=recent, keys=keys)
    changes = []
    for row in recent:
        impact = impacts.get(row.pk)
        changes.append(
            {
                "asin": row.asin,
                "title": titles.get(row.asin, ""),
                "field": row.field,
                "field_label": row.get_field_display(),
                "day": row.day.isoformat(),
                "verdict": impact.verdict if impact else "",
                "verdict_label": impact.verdict_label if impact else "",
                "lift": impact.lift if impact else None,
                "lift_low": impact.lift_low if impact else None,
                "lift_high": impact.lift_high if impact else None,
                "final": impact.final if impact else False,
            }
        )
    period = f"{start:%b %-d}" if days == 1 else f"{start:%b %-d} – {end:%b %-d}"
    return {
        "title": "",
        "summary": (
            f"Your {period} digest: {len(down)} products converting less, {len(up)} more, "
            f"{len(changes)} recent listing changes"
        ),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "marketplace_id": market,
        "movers": {"down": down, "up": up},
        "changes": changes,
    }


def _titles(connection: SellerConnection, market: str, keys: ConnectionKeys) -> dict[str, str]:
    out: dict[str, str] = {}
    listings = Listing.objects.filter(connection=connection, marketplace_id=market).exclude(
        title_enc=None
    )
    for listing in listings.exclude(asin=""):
        if listing.asin not in out:
            out[listing.asin] = keys.data.decrypt_str(
                bytes(listing.title_enc), aad=listing.aad("title")
            )
    return out
