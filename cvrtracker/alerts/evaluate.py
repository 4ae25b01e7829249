"""Turn a seller account's new listing changes and stored metrics into alerts.

`alerts_evaluate` reads, for the team's enabled rules only (nothing is evaluated,
so nothing is sent, for a rule that is off):

(a) events: the ListingChange rows stored since the connection's EvaluationCursor
    (and, again, those stored in the LOOKBACK before the last run: a transaction
    that took an id earlier may commit later). A change counts for a rule only if
    it was stored after the rule was switched on (`opted_in_at`): switching a rule
    on never replays the history. One alert per (rule, change): key
    "<kind>|<rule code>|<change code>".
(b) states, per marketplace, on the stored daily metrics and inventory: low stock,
    Buy Box share, sessions and conversion drops. One alert when a condition
    starts; not again until it has cleared (AlertCondition); key
    "<kind>|<rule code>|<marketplace>|<ASIN>|<day>".

Each alert's payload (JSON, encrypted under the connection's key, read with
selectors.alert_payload) holds what a message needs:

    {"title": product title or "", "summary": one line in plain words,
     "asin", "sku", "marketplace_id", "day": ISO date,
     "field", "action", "before", "after", "change": ListingChange code  (events),
     "figures": {...numbers of the kind, e.g. "days_of_cover", "units_per_day",
                 "quantity", "buy_box_pct", "sessions_recent", "sessions_baseline",
                 "drop_pct", "threshold"}}

Its deliveries are created by `delivery.deliveries_create` in the same
transaction (one per subscribed channel, sent after commit).

Concurrency: every evaluation of a connection locks its EvaluationCursor row
first, so two workers evaluating the same account take turns; alert keys are
unique per team, so a retried evaluation stores nothing twice.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.impact import stats
from cvrtracker.impact.compute import AFTER_DAYS, BUY_BOX_MIN, KAPPA_DAYS, MEASURED_FIELDS
from cvrtracker.lib import clock
from cvrtracker.listings.changes import listing_change_payload
from cvrtracker.listings.models import InventoryLevel, Listing, ListingChange
from cvrtracker.listings.services import inventory_quantities
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.selectors import metrics_asin_histories

from . import cusum
from .kinds import EVENT_KINDS, STATE_KINDS
from .models import Alert, AlertCondition, AlertRule, EvaluationCursor
from .selectors import condition_state, condition_state_aad

logger = logging.getLogger(__name__)

Kind = AlertRule.Kind
Scope = AlertRule.Scope
Field = ListingChange.Field

LOOKBACK = timedelta(minutes=10)
MAX_CHANGES = 5000
# Units a day for low stock: the mean over the last RECENT_DAYS fetched days.
RECENT_DAYS = 14
# Sessions drop: the last SESSIONS_RECENT final days against the SESSIONS_BASELINE
# days before them, for a product with at least SESSIONS_MIN a day before.
SESSIONS_RECENT = 7
SESSIONS_BASELINE = 28
SESSIONS_MIN = 5.0
# The conversion CUSUM starts this many days back when it has no state yet, and
# a raised drop clears once the last CLEAR_DAYS clean days are back above 1 − d/2.
CUSUM_FIRST_RUN_DAYS = 14
CLEAR_DAYS = 7
KAPPA_FALLBACK = 0.02
TEXT_CLIP = 120

_FIELD_WORDS = dict(Field.choices)
_ACTION_WORDS = {
    "added": "added",
    "removed": "removed",
    "edited": "edited",
    "reordered": "moved",
    "changed": "changed",
    "out_of_stock": "out of stock",
    "back_in_stock": "back in stock",
    "appeared": "appeared",
    "cleared": "cleared",
}


@dataclass
class _Context:
    connection: SellerConnection
    keys: ConnectionKeys
    now: datetime
    tracked: set[tuple[str, str]] = field(default_factory=set)
    titles: dict[tuple[str, str], str] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)


def alerts_evaluate(
    *,
    connection: SellerConnection,
    marketplace_id: str | None = None,
    now: datetime | None = None,
    state: bool = True,
) -> list[Alert]:
    """Evaluate the connection's enabled rules; returns the alerts raised (new ones only).

    `marketplace_id` limits the state rules to one marketplace (None: every
    marketplace with metrics or listings); `state=False` reads only the new listing
    changes (cheap: what the sync's hook asks after storing changes).
    """
    rules = list(
        AlertRule.objects.filter(team_id=connection.team_id, enabled=True)
        .exclude(kind=Kind.DIGEST)
        .filter(Q(connection__isnull=True) | Q(connection=connection))
        .prefetch_related("subscriptions")
    )
    if not rules:
        return []
    ctx = _Context(connection=connection, keys=ConnectionKeys(connection), now=now or clock.now())
    ctx.tracked = _tracked(connection)
    events = [r for r in rules if r.kind in EVENT_KINDS]
    with transaction.atomic():
        cursor = _locked_cursor(connection)
        if events:
            _evaluate_events(ctx, events, cursor)
        else:
            # No event rule on: nothing to tell of these changes, ever (a rule switched
            # on later reads only changes stored after it).
            last = ListingChange.objects.filter(connection=connection).order_by("-id").first()
            cursor.last_change_id = max(cursor.last_change_id, last.pk if last else 0)
        cursor.evaluated_at = ctx.now
        cursor.save(update_fields=["last_change_id", "evaluated_at"])
    states = [r for r in rules if r.kind in STATE_KINDS]
    if state and states:
        markets = [marketplace_id] if marketplace_id else _markets(connection)
        for market in markets:
            market_rules = [r for r in states if r.marketplace_id in ("", market)]
            if market_rules:
                with transaction.atomic():
                    _locked_cursor(connection)
                    _evaluate_states(ctx, market_rules, market)
    return ctx.alerts


# -- shared ------------------------------------------------------------------------------


def _locked_cursor(connection: SellerConnection) -> EvaluationCursor:
    EvaluationCursor.objects.get_or_create(connection=connection)
    return EvaluationCursor.objects.select_for_update().get(connection=connection)


def _markets(connection: SellerConnection) -> list[str]:
    markets = set(
        MetricBlock.objects.filter(connection=connection)
        .values_list("marketplace_id", flat=True)
        .distinct()
    )
    markets |= set(
        Listing.objects.filter(connection=connection)
        .values_list("marketplace_id", flat=True)
        .distinct()
    )
    return sorted(markets)


def _tracked(connection: SellerConnection) -> set[tuple[str, str]]:
    """(marketplace, ASIN) and (marketplace, "sku:<SKU>") of the tracked listings."""
    out: set[tuple[str, str]] = set()
    rows = Listing.objects.filter(connection=connection, tracking=Listing.Tracking.TRACKED)
    for market, asin, sku in rows.values_list("marketplace_id", "asin", "sku"):
        out.add((market, f"sku:{sku}"))
        if asin:
            out.add((market, asin))
    return out


def _in_scope(ctx: _Context, rule: AlertRule, market: str, asin: str, sku: str) -> bool:
    if rule.connection_id not in (None, ctx.connection.pk):
        return False
    if rule.marketplace_id and rule.marketplace_id != market:
        return False
    if rule.scope == Scope.CHOSEN:
        return bool(asin) and asin in (rule.asins or [])
    if rule.scope == Scope.TRACKED:
        return (market, asin) in ctx.tracked or (market, f"sku:{sku}") in ctx.tracked
    return True


def _title(ctx: _Context, market: str, asin: str, sku: str = "") -> str:
    key = (market, asin or f"sku:{sku}")
    if key not in ctx.titles:
        listings = Listing.objects.filter(connection=ctx.connection, marketplace_id=market)
        listing = (
            (listings.filter(asin=asin) if asin else listings.filter(sku=sku))
            .exclude(title_enc=None)
            .first()
        )
        title = ""
        if listing is not None:
            title = ctx.keys.data.decrypt_str(bytes(listing.title_enc), aad=listing.aad("title"))
        ctx.titles[key] = title
    return ctx.titles[key]


def _raise(
    ctx: _Context,
    rule: AlertRule,
    *,
    key: str,
    market: str,
    asin: str,
    sku: str,
    day: date,
    payload: dict[str, Any],
) -> Alert | None:
    """Store one alert (nothing when its key exists) and create its deliveries."""
    # The delivery side (delivery.py) sends; it imports nothing of the evaluation.
    from .delivery import deliveries_create

    if Alert.objects.filter(team_id=rule.team_id, key=key).exists():
        return None
    alert = Alert(
        team_id=rule.team_id,
        rule=rule,
        kind=rule.kind,
        connection=ctx.connection,
        marketplace_id=market,
        asin=asin,
        sku=sku,
        day=day,
        key=key,
    )
    payload = {
        "title": _title(ctx, market, asin, sku),
        "asin": asin,
        "sku": sku,
        "marketplace_id": market,
        "day": day.isoformat(),
        **payload,
    }
    alert.payload_enc = ctx.keys.data.encrypt_json(payload, aad=alert.aad())
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        return None  # stored by a concurrent evaluation
    deliveries_create(alert=alert)
    ctx.alerts.append(alert)
    logger.info("alert %s raised (%s)", alert.code, alert.kind)
    return alert


def condition_raise(rule: AlertRule, connection: SellerConnection, key: str, at: datetime) -> bool:
    """Mark the condition on; True when it was not on already (then alert). An event
    older than the condition's last clearing changes nothing (a late re-read)."""
    condition, created = AlertCondition.objects.get_or_create(
        rule=rule, connection=connection, key=key, defaults={"raised_at": at}
    )
    if created:
        return True
    if condition.active or (condition.cleared_at and at < condition.cleared_at):
        return False
    condition.active, condition.raised_at, condition.cleared_at = True, at, None
    condition.save(update_fields=["active", "raised_at", "cleared_at"])
    return True


def condition_clear(rule: AlertRule, connection: SellerConnection, key: str, at: datetime) -> bool:
    """Mark the condition cleared; True when it was on (and raised before `at`)."""
    condition = AlertCondition.objects.filter(rule=rule, connection=connection, key=key).first()
    if condition is None or not condition.active or at < condition.raised_at:
        return False
    condition.active, condition.cleared_at = False, at
    condition.save(update_fields=["active", "cleared_at"])
    return True


# -- (a) events ----------------------------------------------------------------------------


def _evaluate_events(ctx: _Context, rules: list[AlertRule], cursor: EvaluationCursor) -> None:
    since = min(rule.opted_in_at or ctx.now for rule in rules)
    changes = ListingChange.objects.filter(
        connection=ctx.connection, created_at__gte=since
    ).select_related("listing")
    new = list(changes.filter(id__gt=cursor.last_change_id).order_by("id")[:MAX_CHANGES])
    late: list[ListingChange] = []
    if cursor.evaluated_at is not None:
        late = list(
            changes.filter(
                id__lte=cursor.last_change_id, created_at__gte=cursor.evaluated_at - LOOKBACK
            ).order_by("id")
        )
    if new:
        cursor.last_change_id = new[-1].pk
    elif cursor.last_change_id == 0:
        last = ListingChange.objects.filter(connection=ctx.connection).order_by("-id").first()
        cursor.last_change_id = last.pk if last else 0
    for change in late + new:
        asin = change.asin or (change.listing.asin if change.listing else "")
        sku = change.sku or (change.listing.sku if change.listing else "")
        matching = [
            rule
            for rule in rules
            if rule.opted_in_at is not None
            and change.created_at >= rule.opted_in_at
            and _in_scope(ctx, rule, change.marketplace_id, asin, sku)
        ]
        if not matching:
            continue
        payload = listing_change_payload(change=change, keys=ctx.keys)
        for rule in matching:
            _event(ctx, rule, change, payload, asin, sku)


def _clip(value: Any) -> str:
    if isinstance(value, dict) and "amount" in value:
        return f"{value['amount']} {value.get('currency', '')}".strip()
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = "" if value is None else str(value)
    return text if len(text) <= TEXT_CLIP else text[: TEXT_CLIP - 1] + "…"


def _change_summary(change: ListingChange, payload: dict) -> str:
    what = _FIELD_WORDS.get(change.field, change.field)
    if change.position:
        what = f"{what} {change.position}"
    action = payload.get("action", "")
    words = _ACTION_WORDS.get(action, action)
    if change.field == Field.ISSUE:
        issue = payload.get("after") or payload.get("before") or {}
        message = _clip(issue.get("message") or issue.get("code") or "")
        severity = str(payload.get("severity", "")).lower()
        return f"Listing issue {words}{f' ({severity})' if severity else ''}: {message}"
    before, after = payload.get("before"), payload.get("after")
    if action in ("out_of_stock", "back_in_stock"):
        return f"{what}: {words} ({before} → {after})"
    text = f"{what} {words}"
    if change.field == Field.PRICE and payload.get("pct") is not None:
        return f"{text}: {_clip(before)} → {_clip(after)} ({payload['pct']:+.1f}%)"
    if change.field in (Field.IMAGE, Field.MAIN_IMAGE):
        return text
    if action in ("edited", "changed"):
        return f"{text}: “{_clip(before)}” → “{_clip(after)}”"
    return text


def _event(
    ctx: _Context,
    rule: AlertRule,
    change: ListingChange,
    payload: dict,
    asin: str,
    sku: str,
) -> None:
    action = payload.get("action")
    observed = change.source == ListingChange.Source.OBSERVED
    key = f"{rule.kind}|{rule.code}|{change.code}"
    details = {
        "field": change.field,
        "position": change.position,
        "action": action,
        "before": payload.get("before"),
        "after": payload.get("after"),
        "change": str(change.code),
        "summary": _change_summary(change, payload),
        "figures": {},
    }
    common = {
        "key": key,
        "market": change.marketplace_id,
        "asin": asin,
        "sku": sku,
        "day": change.day,
    }
    if rule.kind == Kind.LISTING_CHANGED:
        if observed and change.field in rule.params.get("fields", []):
            _raise(ctx, rule, payload=details, **common)
    elif rule.kind == Kind.PRICE_CHANGED:
        pct = payload.get("pct")
        big = isinstance(pct, int | float) and abs(pct) > float(rule.params.get("pct", 0))
        if observed and change.field == Field.PRICE and big:
            details["figures"] = {"pct": pct, "threshold": rule.params.get("pct")}
            _raise(ctx, rule, payload=details, **common)
    elif rule.kind == Kind.LISTING_ISSUE:
        severity = str(payload.get("severity", "")).upper()
        wanted = {"ERROR"} if rule.params.get("severity") == "error" else {"ERROR", "WARNING"}
        if change.field == Field.ISSUE and action == "appeared" and severity in wanted:
            _raise(ctx, rule, payload=details, **common)
    elif rule.kind == Kind.LISTING_SUPPRESSED:
        _suppressed(ctx, rule, change, payload, details, common)
    elif rule.kind == Kind.OUT_OF_STOCK:
        _stock(ctx, rule, change, details, common)


def _suppressed(ctx, rule, change, payload, details, common) -> None:
    """Suppressed (a suppressing issue appeared) or inactive (no longer buyable): once,
    until it is buyable again or the suppressing issue cleared."""
    action = payload.get("action")
    condition = f"suppressed|{change.marketplace_id}|{common['asin'] or common['sku']}"
    starts = ends = False
    if change.field == Field.ISSUE and payload.get("suppresses"):
        starts, ends = action == "appeared", action == "cleared"
    elif change.field == Field.STATUS:
        before = "BUYABLE" in (payload.get("before") or [])
        after = "BUYABLE" in (payload.get("after") or [])
        starts, ends = before and not after, after and not before
    if starts and condition_raise(rule, ctx.connection, condition, change.seen_at):
        _raise(ctx, rule, payload=details, **common)
    elif ends:
        condition_clear(rule, ctx.connection, condition, change.seen_at)


def _stock(ctx, rule, change, details, common) -> None:
    """Out of stock once per SKU and stock (FBA, merchant) until it is back; "back in
    stock" too when the rule asks and it told the stock-out."""
    if change.field not in (Field.FBA_STOCK, Field.MFN_STOCK):
        return
    action = details["action"]
    condition = f"oos|{change.marketplace_id}|{common['sku'] or common['asin']}|{change.field}"
    if action == "out_of_stock":
        if condition_raise(rule, ctx.connection, condition, change.seen_at):
            _raise(ctx, rule, payload=details, **common)
    elif action == "back_in_stock":
        told = condition_clear(rule, ctx.connection, condition, change.seen_at)
        if told and rule.params.get("back_in_stock"):
            _raise(ctx, rule, payload=details, **common)


# -- (b) states ----------------------------------------------------------------------------


@dataclass
class _Series:
    units: np.ndarray
    sessions: np.ndarray
    buy_box: np.ndarray
    final: np.ndarray  # bool: fetched, traffic reported
    clean: np.ndarray  # bool: final, Buy Box held, sessions > 0


@dataclass
class _Metrics:
    first_day: date
    last_final: int  # -1: no final day
    rows: dict[str, _Series]
    total_units: np.ndarray
    total_sessions: np.ndarray
    kappa: float

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)


def _metrics_read(ctx: _Context, market: str, wanted: set[str], catalogue: bool) -> _Metrics | None:
    """The wanted ASINs' series; with `catalogue`, every ASIN is read for the
    account's clean daily totals (the control index) and κ."""
    metrics: _Metrics | None = None
    kappa_parts = []
    for history in metrics_asin_histories(
        connection=ctx.connection,
        marketplace_id=market,
        asins=None if catalogue else sorted(wanted),
        keys=ctx.keys,
    ):
        n_days = len(history.fetched)
        if metrics is None:
            metrics = _Metrics(
                history.first_day, -1, {}, np.zeros(n_days), np.zeros(n_days), KAPPA_FALLBACK
            )
        final = history.fetched[None, :] & ~history.pending
        clean = final & (history.buy_box >= BUY_BOX_MIN) & (history.sessions > 0)
        account_final = history.fetched & ~history.pending.any(axis=0)
        if account_final.any():
            metrics.last_final = max(metrics.last_final, int(np.flatnonzero(account_final)[-1]))
        units, sessions = history.units.astype(float), history.sessions.astype(float)
        if catalogue:
            metrics.total_units += np.where(clean, units, 0.0).sum(axis=0)
            metrics.total_sessions += np.where(clean, sessions, 0.0).sum(axis=0)
            kappa_parts.append((units, sessions, clean))
        for i, asin in enumerate(history.asins):
            if asin in wanted:
                metrics.rows[asin] = _Series(
                    units[i], sessions[i], history.buy_box[i], final[i], clean[i]
                )
    if metrics is None or metrics.last_final < 0:
        return None
    if kappa_parts:
        stop = metrics.last_final + 1
        start = max(0, stop - KAPPA_DAYS)
        y = np.concatenate([p[0][:, start:stop] for p in kappa_parts])
        n = np.concatenate([p[1][:, start:stop] for p in kappa_parts])
        use = np.concatenate([p[2][:, start:stop] for p in kappa_parts])
        if int((use.sum(axis=1) >= 7).sum()) >= 3:
            metrics.kappa = stats.kappa_estimate(y, n, use)
    return metrics


def _products(ctx: _Context, rule: AlertRule, market: str) -> set[str]:
    if rule.connection_id not in (None, ctx.connection.pk):
        return set()
    if rule.scope == Scope.CHOSEN:
        return set(rule.asins or [])
    if rule.scope == Scope.TRACKED:
        return {a for m, a in ctx.tracked if m == market and not a.startswith("sku:")}
    return set(
        Listing.objects.filter(connection=ctx.connection, marketplace_id=market)
        .exclude(asin="")
        .values_list("asin", flat=True)
    )


def _evaluate_states(ctx: _Context, rules: list[AlertRule], market: str) -> None:
    products = {rule.pk: _products(ctx, rule, market) for rule in rules}
    wanted = set().union(*products.values())
    if not wanted:
        return
    catalogue = any(rule.kind == Kind.CONVERSION_DROP for rule in rules)
    metrics = _metrics_read(ctx, market, wanted, catalogue)
    if metrics is None:
        return
    stock = (
        _stock_levels(ctx, market, wanted) if any(r.kind == Kind.LOW_STOCK for r in rules) else {}
    )
    for rule in rules:
        asins = sorted(a for a in products[rule.pk] if a in metrics.rows)
        if rule.kind == Kind.CONVERSION_DROP:
            _conversion(ctx, rule, market, asins, metrics)
            continue
        for asin in asins:
            series = metrics.rows[asin]
            if rule.kind == Kind.LOW_STOCK:
                _low_stock(ctx, rule, market, asin, series, metrics, stock.get(asin))
            elif rule.kind == Kind.BUY_BOX_LOW:
                _buy_box(ctx, rule, market, asin, series, metrics)
            elif rule.kind == Kind.SESSIONS_DROP:
                _sessions(ctx, rule, market, asin, series, metrics)


def _state_alert(ctx, rule, market, asin, on, day, summary, figures) -> None:
    """Raise the condition "<kind>|<marketplace>|<ASIN>" (and alert) when `on`, else
    clear it. The alert's key carries the day: at most one a product and day, even
    if the condition clears and starts again within it."""
    key = f"{rule.kind}|{market}|{asin}"
    if on:
        if condition_raise(rule, ctx.connection, key, ctx.now):
            _raise(
                ctx,
                rule,
                key=f"{rule.kind}|{rule.code}|{market}|{asin}|{day.isoformat()}",
                market=market,
                asin=asin,
                sku="",
                day=day,
                payload={"summary": summary, "figures": figures},
            )
    else:
        condition_clear(rule, ctx.connection, key, ctx.now)


def _stock_levels(ctx: _Context, market: str, wanted: set[str]) -> dict[str, int]:
    """FBA fulfillable plus merchant quantity per ASIN (over its SKUs); an ASIN with no
    known quantity is left out."""
    out: dict[str, int] = {}
    levels = InventoryLevel.objects.filter(
        connection=ctx.connection, marketplace_id=market, asin__in=sorted(wanted)
    )
    for level in levels:
        quantities = inventory_quantities(connection=ctx.connection, level=level)
        fba = (quantities["fba"] or {}).get("fulfillable")
        mfn = quantities["mfn_quantity"]
        known = [q for q in (fba, mfn) if isinstance(q, int)]
        if known:
            out[level.asin] = out.get(level.asin, 0) + sum(max(q, 0) for q in known)
    return out


def _low_stock(ctx, rule, market, asin, series: _Series, metrics: _Metrics, quantity) -> None:
    if quantity is None:
        return
    stop = metrics.last_final + 1
    fetched_days = np.flatnonzero(series.final[:stop])[-RECENT_DAYS:]
    if len(fetched_days) < RECENT_DAYS // 2:
        return
    per_day = float(series.units[fetched_days].sum()) / len(fetched_days)
    if per_day <= 0:
        _state_alert(ctx, rule, market, asin, False, None, "", {})
        return
    cover = quantity / per_day
    days = int(rule.params.get("days", 0))
    _state_alert(
        ctx,
        rule,
        market,
        asin,
        cover < days,
        marketplace_today(market, ctx.now),
        f"Low stock: {cover:.1f} days of cover left ({quantity} units at "
        f"{per_day:.1f} a day), below {days} days",
        {
            "days_of_cover": round(cover, 1),
            "quantity": quantity,
            "units_per_day": round(per_day, 2),
            "threshold": days,
        },
    )


def _buy_box(ctx, rule, market, asin, series: _Series, metrics: _Metrics) -> None:
    stop = metrics.last_final + 1
    days = np.flatnonzero(series.final[:stop] & (series.sessions[:stop] > 0))
    if not len(days):
        return
    t = int(days[-1])
    share = float(series.buy_box[t])
    threshold = float(rule.params.get("pct", 0))
    _state_alert(
        ctx,
        rule,
        market,
        asin,
        share < threshold,
        metrics.day(t),
        f"Buy Box share {share:.0f}% on {metrics.day(t):%b %-d}, below {threshold:g}%",
        {"buy_box_pct": round(share, 1), "threshold": threshold},
    )


def _sessions(ctx, rule, market, asin, series: _Series, metrics: _Metrics) -> None:
    stop = metrics.last_final + 1
    days = np.flatnonzero(series.final[:stop])
    if len(days) < SESSIONS_RECENT + SESSIONS_BASELINE:
        return
    recent = float(series.sessions[days[-SESSIONS_RECENT:]].mean())
    baseline = float(
        series.sessions[days[-SESSIONS_RECENT - SESSIONS_BASELINE : -SESSIONS_RECENT]].mean()
    )
    if baseline < SESSIONS_MIN:
        return
    drop = 100.0 * (1 - recent / baseline)
    threshold = float(rule.params.get("pct", 0))
    day = metrics.day(int(days[-1]))
    _state_alert(
        ctx,
        rule,
        market,
        asin,
        drop > threshold,
        day,
        f"Sessions down {drop:.0f}%: {recent:.0f} a day over the last {SESSIONS_RECENT} days "
        f"against {baseline:.0f} before",
        {
            "sessions_recent": round(recent, 1),
            "sessions_baseline": round(baseline, 1),
            "drop_pct": round(drop, 1),
            "threshold": threshold,
        },
    )


def _paused_days(ctx: _Context, market: str, asins: list[str], metrics: _Metrics) -> dict:
    """Per ASIN, the days its own content or price change is under impact analysis
    (the change's days and AFTER_DAYS after): the CUSUM skips them."""
    n = len(metrics.total_units)
    out: dict[str, np.ndarray] = {}
    rows = ListingChange.objects.filter(
        connection=ctx.connection,
        marketplace_id=market,
        asin__in=asins,
        field__in=MEASURED_FIELDS,
        source__in=(ListingChange.Source.OBSERVED, ListingChange.Source.INFERRED),
    ).values_list("asin", "day")
    for asin, day in rows:
        mask = out.setdefault(asin, np.zeros(n, bool))
        lo = max(0, (day - metrics.first_day).days - 1)
        hi = min(n, (day - metrics.first_day).days + AFTER_DAYS + 1)
        if lo < hi:
            mask[lo:hi] = True
    return out


def _conversion(ctx, rule, market, asins: list[str], metrics: _Metrics) -> None:
    """The CUSUM of cusum.py per product, carried between runs in its condition's state."""
    if not asins:
        return
    h = cusum.threshold(
        products=len(asins), false_alerts_per_year=settings.ALERTS_CONVERSION_FALSE_ALERTS
    )
    last = metrics.last_final
    paused = _paused_days(ctx, market, asins, metrics)
    inputs = {}
    for asin in asins:
        series = metrics.rows[asin]
        own_u = np.where(series.clean, series.units, 0.0)
        own_n = np.where(series.clean, series.sessions, 0.0)
        rest_u, rest_n = metrics.total_units - own_u, metrics.total_sessions - own_n
        index = stats.control_index(rest_u, rest_n)
        e = np.where(series.clean & np.isfinite(index), series.sessions * np.nan_to_num(index), 0.0)
        use = series.clean & (e > 0)
        if asin in paused:
            use &= ~paused[asin]
        inputs[asin] = (series.units, e, use)
    lo, hi = max(0, last - cusum.BASELINE_FIRST), max(0, last - cusum.BASELINE_LAST + 1)
    prior = cusum.gamma_prior(
        np.array([float(y[lo:hi][u[lo:hi]].sum()) for y, _, u in inputs.values()]),
        np.array([float(e[lo:hi][u[lo:hi]].sum()) for _, e, u in inputs.values()]),
    )
    for asin in asins:
        y, e, use = inputs[asin]
        key = f"cvr|{market}|{asin}"
        condition, _ = AlertCondition.objects.get_or_create(
            rule=rule,
            connection=ctx.connection,
            key=key,
            defaults={"active": False, "raised_at": ctx.now},
        )
        state = condition_state(condition, ctx.keys)
        start = last - CUSUM_FIRST_RUN_DAYS + 1
        if state.get("day"):
            start = max(start, (date.fromisoformat(state["day"]) - metrics.first_day).days + 1)
        result = cusum.cusum_run(
            y,
            e,
            use,
            start=start,
            stop=last,
            kappa=metrics.kappa,
            h=h,
            s0=float(state.get("s", 0.0)) if state.get("day") else 0.0,
            prior=prior,
        )
        recent = _recent_ratio(y, e, use, last, result.baseline)
        days = cusum.days_to_detect(result.expected_per_day, metrics.kappa, h)
        state = {
            "s": float(result.s),
            "day": metrics.day(max(result.last, start - 1)).isoformat(),
            "baseline": None if result.baseline is None else float(result.baseline),
            "expected_per_day": float(result.expected_per_day),
            "monitorable": bool(days <= cusum.MAX_DAYS_TO_DETECT),
            "days_to_detect": None if math.isinf(days) else round(float(days), 1),
        }
        condition.state_enc = ctx.keys.data.encrypt_json(state, aad=condition_state_aad(condition))
        condition.save(update_fields=["state_enc"])
        if result.alarms and not condition.active:
            condition.active, condition.raised_at, condition.cleared_at = True, ctx.now, None
            condition.save(update_fields=["active", "raised_at", "cleared_at"])
            day = metrics.day(result.alarms[0])
            drop = None if recent is None else round(100 * (1 - recent), 1)
            _raise(
                ctx,
                rule,
                key=f"{rule.kind}|{rule.code}|{market}|{asin}|{day.isoformat()}",
                market=market,
                asin=asin,
                sku="",
                day=day,
                payload={
                    "summary": (
                        "Conversion dropped against its own trailing baseline, "
                        "adjusted for the rest of the account"
                        + (f" (about {drop:.0f}% lower lately)" if drop and drop > 0 else "")
                    ),
                    "figures": {
                        "drop_pct": drop,
                        "expected_units_per_day": round(result.expected_per_day, 2),
                        "kappa": round(metrics.kappa, 4),
                        "threshold": round(h, 2),
                    },
                },
            )
        elif condition.active and not result.alarms and (recent or 0) >= 1 - cusum.DROP / 2:
            condition_clear(rule, ctx.connection, key, ctx.now)


def _recent_ratio(y, e, use, last: int, baseline: float | None) -> float | None:
    """Observed ÷ expected at the baseline over the last CLEAR_DAYS clean days."""
    if not baseline:
        return None
    days = np.flatnonzero(use[: last + 1])[-CLEAR_DAYS:]
    expected = float(e[days].sum()) * baseline
    return float(y[days].sum()) / expected if expected > 0 else None
