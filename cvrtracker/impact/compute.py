"""Measure every content and price change of a seller in one marketplace.

Reads the marketplace's whole stored history one ASIN shard at a time
(`metrics_asin_histories`), keeps the catalogue's daily totals and the rows of
the products that changed, and turns each change into an `Impact` with the
statistics of stats.py. Pure apart from `catalogue_read` (metrics) and
`events_read` (listing changes); services.impact_refresh stores the results.

Windows (marketplace days). A change happened between `seen_after` and
`seen_at`: the days from the first to the last of those are left out (an observed
content change is recorded when the detail page shoppers see shows it, so that
interval is when shoppers' conversion could start to move; an inferred price
change spans the last day at the old price and the first at the new one).
- before: up to BEFORE_DAYS days ending the day before, starting after the
  product's previous conversion-affecting change (content, price, stock-out,
  Buy Box, status, a suppressing issue);
- after: AFTER_DAYS days from the day after, ending before the product's next such
  change (then "shortened"); it is complete ("final") once its last day is final.
Inside both, only the product's clean days count: traffic reported (not pending),
fetched, Buy Box share ≥ 50% (a stock-out day has 0%), sessions > 0.
Same-day changes of one product are one bundle, measured together.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from cvrtracker.amazon.marketplaces import marketplace_day
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.listings.changes import listing_change_payload
from cvrtracker.listings.models import ListingChange
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.selectors import metrics_asin_histories

from . import stats
from .measured import MEASURED_FIELDS, MEASURED_SOURCES
from .types import (
    IMPROVED,
    NO_CLEAR_EFFECT,
    NOT_ENOUGH_DATA,
    WORSENED,
    Impact,
    ImpactWindow,
)

Field = ListingChange.Field
Source = ListingChange.Source

# Changes that move a product's conversion by themselves: they bound its windows
# (an issue only when it suppresses the listing).
INTERFERING_FIELDS = (
    *MEASURED_FIELDS,
    Field.STOCK_OUT,
    Field.FBA_STOCK,
    Field.MFN_STOCK,
    Field.BUY_BOX,
    Field.STATUS,
    Field.ISSUE,
)

BEFORE_DAYS = 56
AFTER_DAYS = 14
# Fewer clean days than this in a window: nothing to measure on.
MIN_DAYS = 7
# The catalogue index needs at least this many other products every day used, and
# this many times the product's units over the windows; else no adjustment.
MIN_CONTROL_PRODUCTS = 3
CONTROL_UNITS_FACTOR = 5
# Overdispersion is estimated over the last KAPPA_DAYS final days of the products
# without any change of their own.
KAPPA_DAYS = 91
KAPPA_FALLBACK = 0.02
# "No clear effect" needs a complete window whose 95% interval holds 0 and rules
# out halving or doubling conversion (|ln(1 + bound)| < NO_EFFECT_MAX); a wider
# interval is "not enough data" (this traffic cannot tell).
NO_EFFECT_MAX = math.log(2.0)
BUY_BOX_MIN = 50.0
# "Current traffic" for units a month: the last RECENT_DAYS final days.
RECENT_DAYS = 28
# Fewer after days than this: no "so far" interval is shown yet.
EARLY_MIN_DAYS = 3
# Nor one wider than ÷5 to ×5 (it would say nothing).
SO_FAR_MAX_RATIO = 5.0


@dataclass(frozen=True)
class Event:
    """A change of one product on marketplace days [first, last] (its uncertain days)."""

    asin: str
    first: date
    last: date
    change_ids: tuple[int, ...]
    fields: tuple[str, ...]
    measured: bool


@dataclass
class ProductRows:
    units: np.ndarray  # float [days]
    sessions: np.ndarray  # float [days]
    clean: np.ndarray  # bool [days]


@dataclass
class Catalogue:
    """What the estimator needs of a marketplace's metrics: day-aligned arrays from
    `first_day`, the catalogue's clean daily totals and the changed products' rows."""

    first_day: date
    n_days: int
    as_of: date | None  # the last final day (traffic reported); None: none yet
    total_units: np.ndarray
    total_sessions: np.ndarray
    total_products: np.ndarray  # products with a clean day, per day
    rows: dict[str, ProductRows] = field(default_factory=dict)
    kappa: float = KAPPA_FALLBACK
    kappa_products: int = 0

    def index(self, day: date) -> int:
        return (day - self.first_day).days

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)


# -- reading -----------------------------------------------------------------------------


def events_read(
    *, connection: SellerConnection, marketplace_id: str, keys: ConnectionKeys
) -> dict[str, list[Event]]:
    """{ASIN: its conversion-affecting events, oldest first}; same-day measured
    changes of one product are one event (a bundle)."""
    rows = (
        ListingChange.objects.filter(
            connection=connection, marketplace_id=marketplace_id, field__in=INTERFERING_FIELDS
        )
        .exclude(asin="")
        .order_by("asin", "day", "id")
    )
    bundles: dict[tuple[str, date], list[ListingChange]] = defaultdict(list)
    others: list[Event] = []
    for change in rows:
        first = change.day
        if change.seen_after is not None:
            first = min(first, marketplace_day(marketplace_id, change.seen_after))
        measured = change.field in MEASURED_FIELDS and change.source in MEASURED_SOURCES
        if measured:
            bundles[(change.asin, change.day)].append(change)
            continue
        if change.field == Field.ISSUE:
            payload = listing_change_payload(change=change, keys=keys)
            if not payload.get("suppresses"):
                continue
        others.append(Event(change.asin, first, change.day, (change.pk,), (change.field,), False))
    events: dict[str, list[Event]] = defaultdict(list)
    for (asin, day), changes in bundles.items():
        first = min(
            [day]
            + [
                marketplace_day(marketplace_id, c.seen_after)
                for c in changes
                if c.seen_after is not None
            ]
        )
        events[asin].append(
            Event(
                asin,
                first,
                day,
                tuple(c.pk for c in changes),
                tuple(c.field for c in changes),
                True,
            )
        )
    for event in others:
        events[event.asin].append(event)
    for asin in events:
        events[asin].sort(key=lambda e: (e.first, e.last))
    return dict(events)


def catalogue_read(
    *,
    connection: SellerConnection,
    marketplace_id: str,
    changed: set[str],
    keys: ConnectionKeys,
) -> Catalogue | None:
    """Read every shard once; None when the marketplace has no metrics."""
    catalogue: Catalogue | None = None
    kappa_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    last_final = -1
    for history in metrics_asin_histories(
        connection=connection, marketplace_id=marketplace_id, keys=keys
    ):
        n_days = len(history.fetched)
        if catalogue is None:
            catalogue = Catalogue(
                first_day=history.first_day,
                n_days=n_days,
                as_of=None,
                total_units=np.zeros(n_days),
                total_sessions=np.zeros(n_days),
                total_products=np.zeros(n_days),
            )
        units = history.units.astype(float)
        sessions = history.sessions.astype(float)
        clean = (
            history.fetched[None, :]
            & ~history.pending
            & (history.buy_box >= BUY_BOX_MIN)
            & (history.sessions > 0)
        )
        final = history.fetched & ~history.pending.any(axis=0)
        if final.any():
            last_final = max(last_final, int(np.flatnonzero(final)[-1]))
        catalogue.total_units += np.where(clean, units, 0.0).sum(axis=0)
        catalogue.total_sessions += np.where(clean, sessions, 0.0).sum(axis=0)
        catalogue.total_products += clean.sum(axis=0)
        is_changed = np.array([a in changed for a in history.asins], bool)
        for i in np.flatnonzero(is_changed):
            catalogue.rows[history.asins[i]] = ProductRows(units[i], sessions[i], clean[i])
        steady = ~is_changed
        if steady.any():
            kappa_parts.append(
                (
                    units[steady, -KAPPA_DAYS - 7 :],
                    sessions[steady, -KAPPA_DAYS - 7 :],
                    clean[steady, -KAPPA_DAYS - 7 :],
                )
            )
    if catalogue is None:
        return None
    if last_final >= 0:
        catalogue.as_of = catalogue.day(last_final)
        if kappa_parts:
            # Align on the last final day (the arrays run to the end of the last month).
            stop = last_final - catalogue.n_days  # <= -1
            cut = slice(stop - KAPPA_DAYS + 1, stop + 1 if stop < -1 else None)
            y = np.concatenate([p[0] for p in kappa_parts])[:, cut]
            n = np.concatenate([p[1] for p in kappa_parts])[:, cut]
            use = np.concatenate([p[2] for p in kappa_parts])[:, cut]
            catalogue.kappa_products = int((use.sum(axis=1) >= 7).sum())
            if catalogue.kappa_products >= MIN_CONTROL_PRODUCTS:
                catalogue.kappa = stats.kappa_estimate(y, n, use)
    return catalogue


# -- measuring one change --------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The windows of one change: [before_start, before_end] and [after_start,
    after_target] (the after window's planned end), before the data are looked at."""

    before_start: date
    before_end: date
    after_start: date
    after_target: date
    shortened_before: bool
    shortened_after: bool
    previous: Event | None
    following: Event | None


def plan_windows(event: Event, events: list[Event], history_start: date) -> Plan:
    """Bound the windows by the product's other changes and the stored history."""
    before_end = event.first - timedelta(days=1)
    before_start = before_end - timedelta(days=BEFORE_DAYS - 1)
    after_start = event.last + timedelta(days=1)
    after_target = event.last + timedelta(days=AFTER_DAYS)
    previous = following = None
    for other in events:
        if other is event:
            continue
        if other.last < event.first and (previous is None or other.last > previous.last):
            previous = other
        if other.first > event.last and (following is None or other.first < following.first):
            following = other
    shortened_before = shortened_after = False
    if previous is not None and previous.last >= before_start:
        before_start = previous.last + timedelta(days=1)
        shortened_before = True
    if before_start < history_start:
        before_start = history_start
    if following is not None and following.first <= after_target:
        after_target = following.first - timedelta(days=1)
        shortened_after = True
    return Plan(
        before_start,
        before_end,
        after_start,
        after_target,
        shortened_before,
        shortened_after,
        previous,
        following,
    )


def _span(catalogue: Catalogue, start: date, end: date) -> slice:
    lo = max(0, catalogue.index(start))
    hi = min(catalogue.n_days, catalogue.index(end) + 1)
    return slice(lo, max(lo, hi))


def _window(
    catalogue: Catalogue, rows: ProductRows, start: date, end: date
) -> tuple[ImpactWindow, np.ndarray]:
    span = _span(catalogue, start, end)
    kept = rows.clean[span]
    window = ImpactWindow(
        start=start,
        end=end,
        days=int(kept.sum()),
        sessions=int(rows.sessions[span][kept].sum()),
        units=int(rows.units[span][kept].sum()),
    )
    return window, kept


def measure(
    event: Event,
    all_events: dict[str, list[Event]],
    catalogue: Catalogue | None,
    *,
    today: date,
    spans: EventSpans | None = None,
) -> Impact:
    """The impact of one change (bundle) of `event.asin`; `all_events` are every
    product's events (the other products' leave the catalogue index on their days)."""
    events = all_events.get(event.asin, [event])
    bundle_note = _bundle_note(event)
    if catalogue is None or catalogue.as_of is None:
        return _no_data(event, today, "No sales and traffic figures are stored yet." + bundle_note)
    as_of = catalogue.as_of
    rows = catalogue.rows.get(event.asin)
    plan = plan_windows(event, events, catalogue.first_day)
    lag = max(1, (today - as_of).days)
    if rows is None:
        return _no_data(
            event,
            as_of,
            "Amazon reports no sessions or sales for this product in this marketplace yet."
            + bundle_note,
        )
    after_end = min(plan.after_target, as_of)
    final = as_of >= plan.after_target
    ready_on = None if final else plan.after_target + timedelta(days=lag)
    before, kept_pre = _window(catalogue, rows, plan.before_start, plan.before_end)
    after_window_end = max(after_end, plan.after_start - timedelta(days=1))
    after, kept_post = _window(catalogue, rows, plan.after_start, after_window_end)
    shortened = plan.shortened_before or plan.shortened_after
    notes = [_shortened_note(plan)] if shortened else []

    def result(
        verdict: str,
        note: str,
        *,
        adjusted: bool,
        final: bool,
        lift: float | None = None,
        ready_on: date | None = None,
        units_month: float | None = None,
        low: float | None = None,
        high: float | None = None,
    ) -> Impact:
        """This bundle's Impact: its windows, dates and bundle note are the same for
        every verdict below."""
        return _impact(
            verdict,
            lift,
            before,
            after,
            adjusted,
            shortened,
            final,
            as_of,
            ready_on,
            units_month,
            note + bundle_note,
            low=low,
            high=high,
        )

    if before.days < MIN_DAYS:
        why = (
            f"Only {before.days} usable days before the change"
            + (f" (the previous change was on {_d(plan.previous.last)})" if plan.previous else "")
            + f": at least {MIN_DAYS} are needed to compare with."
        )
        return result(
            NOT_ENOUGH_DATA,
            why,
            adjusted=False,
            final=final,
        )
    if final and plan.shortened_after and after.days < MIN_DAYS:
        why = (
            f"Another change on {_d(plan.following.first)} leaves only {after.days} usable "
            f"days after this one: at least {MIN_DAYS} are needed."
        )
        return result(
            NOT_ENOUGH_DATA,
            why,
            adjusted=False,
            final=True,
        )

    # The catalogue index of the other products on the same days.
    first = catalogue.index(plan.before_start)
    last = catalogue.index(max(plan.after_target, plan.after_start))
    span = slice(max(0, first), min(catalogue.n_days, last + 1))
    control_y = catalogue.total_units[span].copy()
    control_n = catalogue.total_sessions[span].copy()
    control_k = catalogue.total_products[span].copy()
    window_start, window_end = plan.before_start, max(plan.after_target, plan.after_start)
    spans = spans or EventSpans.of(all_events)
    for asin in spans.changed_in(window_start, window_end, own=event.asin):
        other = catalogue.rows.get(asin)
        if other is None:
            continue
        c = other.clean[span]
        control_y -= np.where(c, other.units[span], 0.0)
        control_n -= np.where(c, other.sessions[span], 0.0)
        control_k -= c
    own = rows.clean[span]
    control_y -= np.where(own, rows.units[span], 0.0)
    control_n -= np.where(own, rows.sessions[span], 0.0)
    control_k -= own
    index = stats.control_index(control_y, control_n)

    pre = _span(catalogue, plan.before_start, plan.before_end)
    post = _span(catalogue, plan.after_start, after_window_end)
    off = span.start
    pre_l, post_l = slice(pre.start - off, pre.stop - off), slice(post.start - off, post.stop - off)
    used_pre = kept_pre & np.isfinite(index[pre_l])
    used_post = kept_post & np.isfinite(index[post_l])
    used_k = np.concatenate([control_k[pre_l][used_pre], control_k[post_l][used_post]])
    used_cy = control_y[pre_l][used_pre].sum() + control_y[post_l][used_post].sum()
    adjusted = (
        len(used_k) > 0
        and used_k.min() >= MIN_CONTROL_PRODUCTS
        and used_cy >= CONTROL_UNITS_FACTOR * (before.units + after.units)
    )
    y_pre, n_pre = rows.units[pre][kept_pre], rows.sessions[pre][kept_pre]
    y_post, n_post = rows.units[post][kept_post], rows.sessions[post][kept_post]
    if adjusted:
        e_pre = rows.sessions[pre][used_pre] * index[pre_l][used_pre]
        e_post = rows.sessions[post][used_post] * index[post_l][used_post]
        y_pre, y_post = rows.units[pre][used_pre], rows.units[post][used_post]
    else:
        e_pre, e_post = n_pre, n_post
    kappa = catalogue.kappa
    est = stats.estimate(y_pre, e_pre, y_post, e_post, kappa)

    recent = _recent_units_per_day(catalogue, rows)
    if not adjusted:
        why = (
            "No adjustment for what moved the whole account was possible: "
            + (
                f"fewer than {MIN_CONTROL_PRODUCTS} other products without changes of their "
                "own sold on these days"
                if len(used_k) == 0 or used_k.min() < MIN_CONTROL_PRODUCTS
                else f"the other products sold less than {CONTROL_UNITS_FACTOR} times this "
                "product's units"
            )
            + ". A before/after comparison alone cannot tell this change from paydays, "
            "promotions and seasons, so there is no verdict."
        )
        if est is not None:
            why = (
                f"Unadjusted, conversion went from {_pct(before.conversion_rate)} to "
                f"{_pct(after.conversion_rate)}. " + why
            )
        return result(
            NOT_ENOUGH_DATA,
            why + _join(notes),
            adjusted=False,
            final=final,
        )

    trend = _trend_sentence(
        index[pre_l][used_pre],
        rows.sessions[pre][used_pre],
        index[post_l][used_post],
        rows.sessions[post][used_post],
    )
    how = _how_sentence(plan, before, after, final, as_of) + " " + trend
    if est is None:
        empty = "before" if before.units == 0 else "after"
        if final:
            why = f"No units were sold in the {empty} window: there is no conversion to compare."
            return result(
                NOT_ENOUGH_DATA,
                _join([how, why, *notes]),
                adjusted=True,
                final=True,
            )
        why = f"Too few days after the change so far; verdict on {_d(ready_on)}."
        return result(
            NOT_ENOUGH_DATA,
            _join([how, why, *notes]),
            adjusted=True,
            final=False,
            ready_on=ready_on,
        )

    units_month = _units_a_month(recent, est.lift)

    def month_note(low: float, high: float) -> str:
        if units_month is None:
            return ""
        low_units = _units_text(_units_a_month(recent, low))
        high_units = _units_text(_units_a_month(recent, high))
        return (
            f"At the last {RECENT_DAYS} days' traffic ({recent:.1f} units a day), that is "
            f"about {_units_text(units_month)} a month (from {low_units} to {high_units})."
        )

    if final:
        low, high = est.lift_low, est.lift_high
        interval = f"{_signed(est.lift)} (95% interval {_signed(low)} to {_signed(high)})"
        if low > 0 or high < 0:
            verdict = IMPROVED if low > 0 else WORSENED
            why = f"Conversion changed by {interval}, adjusted for the catalogue."
        elif math.log1p(low) > -NO_EFFECT_MAX and math.log1p(high) < NO_EFFECT_MAX:
            verdict = NO_CLEAR_EFFECT
            why = (
                f"Conversion changed by {interval}: no clear effect. The data rule out a "
                f"change larger than these ends; a smaller one cannot be ruled out."
            )
        else:
            verdict = NOT_ENOUGH_DATA
            detectable = stats.mde(est.variance)
            why = (
                f"Conversion changed by {interval}, too wide to tell: this product's traffic "
                f"can only detect changes larger than ±{detectable * 100:.0f}%."
            )
        return result(
            verdict,
            _join([how, why, month_note(low, high), *notes]),
            adjusted=True,
            final=True,
            lift=est.lift,
            units_month=units_month,
            low=low,
            high=high,
        )

    # Impact so far: the always-valid interval, valid however often it is read.
    if after.days < EARLY_MIN_DAYS:
        why = f"Too few days after the change so far; verdict on {_d(ready_on)}."
        return result(
            NOT_ENOUGH_DATA,
            _join([how, why, *notes]),
            adjusted=True,
            final=False,
            ready_on=ready_on,
        )
    low, high = stats.msprt_interval(est.delta, est.variance)
    interval = (
        f"{_signed(est.lift)} so far (always-valid 99% interval {_signed(low)} to {_signed(high)})"
    )
    if low > 0 or high < 0:
        verdict = IMPROVED if low > 0 else WORSENED
        why = (
            f"Conversion changed by {interval}: clear already, before the "
            f"{AFTER_DAYS}-day window is complete on {_d(plan.after_target)}."
        )
    else:
        verdict = NOT_ENOUGH_DATA
        trend_word = "trending up" if est.lift > 0 else "trending down"
        if math.log1p(high) - math.log1p(low) > 2 * math.log(SO_FAR_MAX_RATIO):
            # Days after the change are too few for an interval worth showing.
            interval = f"{_signed(est.lift)} so far"
            low = high = None
        why = f"Conversion changed by {interval}, {trend_word}; verdict on {_d(ready_on)}."
    return result(
        verdict,
        _join([how, why, month_note(low, high) if low is not None else "", *notes]),
        adjusted=True,
        final=False,
        lift=est.lift,
        ready_on=ready_on if verdict == NOT_ENOUGH_DATA else None,
        units_month=units_month,
        low=low,
        high=high,
    )


@dataclass(frozen=True)
class EventSpans:
    """Every product's events as arrays, to find the products changing over some days."""

    asins: np.ndarray  # str [events]
    first: np.ndarray  # int day ordinals [events]
    last: np.ndarray

    @classmethod
    def of(cls, all_events: dict[str, list[Event]]) -> EventSpans:
        flat = [e for evs in all_events.values() for e in evs]
        return cls(
            np.array([e.asin for e in flat], dtype=object),
            np.array([e.first.toordinal() for e in flat], dtype=np.int64),
            np.array([e.last.toordinal() for e in flat], dtype=np.int64),
        )

    def changed_in(self, start: date, end: date, *, own: str) -> list[str]:
        """The other products with a change of their own over [start, end]."""
        hit = (self.first <= end.toordinal()) & (self.last >= start.toordinal())
        return sorted({a for a in self.asins[hit] if a != own})


def measure_all(
    events: dict[str, list[Event]], catalogue: Catalogue | None, *, today: date
) -> list[tuple[Event, Impact]]:
    """Every measured bundle's impact."""
    spans = EventSpans.of(events)
    return [
        (event, measure(event, events, catalogue, today=today, spans=spans))
        for evs in events.values()
        for event in evs
        if event.measured
    ]


# -- helpers -----------------------------------------------------------------------------


def _units_a_month(units_per_day: float | None, lift: float) -> float | None:
    """Units a month the change gained (negative: lost) at `units_per_day` now: the
    share lift ÷ (1 + lift) of today's units is what the change added."""
    if units_per_day is None:
        return None
    return 30.0 * units_per_day * lift / (1.0 + lift)


def _units_text(units: float | None) -> str:
    if units is None:
        return ""
    return f"{abs(units):.0f} units {'gained' if units >= 0 else 'lost'}"


def _recent_units_per_day(catalogue: Catalogue, rows: ProductRows) -> float | None:
    if catalogue.as_of is None:
        return None
    end = catalogue.index(catalogue.as_of) + 1
    span = slice(max(0, end - RECENT_DAYS), end)
    clean = rows.clean[span]
    if not clean.any():
        return None
    return float(rows.units[span][clean].sum()) / int(clean.sum())


def _no_data(event: Event, as_of: date, note: str) -> Impact:
    return Impact(
        verdict=NOT_ENOUGH_DATA,
        lift=None,
        lift_low=None,
        lift_high=None,
        before=None,
        after=None,
        trend_adjusted=False,
        shortened=False,
        final=False,
        as_of=as_of,
        ready_on=None,
        units_per_month=None,
        note=note,
    )


def _impact(
    verdict: str,
    lift: float | None,
    before: ImpactWindow,
    after: ImpactWindow,
    adjusted: bool,
    shortened: bool,
    final: bool,
    as_of: date,
    ready_on: date | None,
    units_month: float | None,
    note: str,
    *,
    low: float | None = None,
    high: float | None = None,
) -> Impact:
    return Impact(
        verdict=verdict,
        lift=None if lift is None else round(lift, 4),
        lift_low=None if low is None else round(low, 4),
        lift_high=None if high is None else round(high, 4),
        before=before,
        after=after,
        trend_adjusted=adjusted,
        shortened=shortened,
        final=final,
        as_of=as_of,
        ready_on=ready_on,
        units_per_month=None if units_month is None else round(units_month, 1),
        note=note.strip(),
    )


def _trend_sentence(c_pre, n_pre, c_post, n_post) -> str:
    """How the rest of the catalogue's conversion moved between the windows."""
    if not len(c_pre) or not len(c_post):
        return ""
    before = float((c_pre * n_pre).sum() / n_pre.sum()) if n_pre.sum() else float(c_pre.mean())
    after = float((c_post * n_post).sum() / n_post.sum()) if n_post.sum() else float(c_post.mean())
    if before <= 0:
        return ""
    move = after / before - 1
    return (
        f"It is adjusted for the rest of your catalogue on the same days, whose conversion "
        f"moved {_signed(move)}."
    )


def _how_sentence(
    plan: Plan, before: ImpactWindow, after: ImpactWindow, final: bool, as_of: date
) -> str:
    left_out = (
        f"{_d(plan.before_end + timedelta(days=1))}"
        if plan.before_end + timedelta(days=2) == plan.after_start
        else f"{_d(plan.before_end + timedelta(days=1))} to "
        f"{_d(plan.after_start - timedelta(days=1))}"
    )
    after_text = f"{after.days} days after ({_d(after.start)} to {_d(after.end)})"
    if not final:
        after_text += f", so far (figures up to {_d(as_of)})"
    return (
        f"Conversion in the {after_text} compared with the {before.days} days before "
        f"({_d(before.start)} to {_d(before.end)}), leaving out {left_out} when the change "
        "happened, and days out of stock or without the Buy Box."
    )


def _shortened_note(plan: Plan) -> str:
    parts = []
    if plan.shortened_before and plan.previous is not None:
        parts.append(
            f"the before window starts after the previous change "
            f"({_fields(plan.previous)} on {_d(plan.previous.last)})"
        )
    if plan.shortened_after and plan.following is not None:
        parts.append(
            f"the after window ends before the next change "
            f"({_fields(plan.following)} on {_d(plan.following.first)})"
        )
    return "Shortened: " + " and ".join(parts) + "." if parts else ""


def _bundle_note(event: Event) -> str:
    if len(event.change_ids) < 2:
        return ""
    return (
        f" Measured together with the other changes of the same day ({_fields(event)}): "
        "their effects cannot be told apart."
    )


_FIELD_WORDS = {
    Field.TITLE: "title",
    Field.BULLET: "bullet",
    Field.DESCRIPTION: "description",
    Field.MAIN_IMAGE: "main image",
    Field.IMAGE: "image",
    Field.PRICE: "price",
    Field.STOCK_OUT: "stock-out",
    Field.FBA_STOCK: "FBA stock",
    Field.MFN_STOCK: "merchant stock",
    Field.BUY_BOX: "Buy Box",
    Field.STATUS: "status",
    Field.ISSUE: "listing issue",
}


def _fields(event: Event) -> str:
    words = []
    for f in event.fields:
        word = _FIELD_WORDS.get(f, f)
        if word not in words:
            words.append(word)
    return ", ".join(words)


def _join(parts: list[str]) -> str:
    return " ".join(p for p in parts if p)


def _d(day: date | None) -> str:
    return "" if day is None else f"{day:%a} {day.day} {day:%b %Y}"


def _signed(fraction: float) -> str:
    return f"{fraction * 100:+.1f}%"


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"
