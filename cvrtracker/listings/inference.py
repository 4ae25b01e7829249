"""Changes read from the daily metrics: past price changes (inferred) and Buy Box and
stock-out events (derived), stored on the same history as the observed changes.

The rules, with the evidence each one needs (the README repeats them):

Price, inferred (before tracking began only). A selling day's price is its ordered
product sales ÷ units ordered. A step is dated on selling day j when
  - the median price of the hold window, the selling days of the PRICE_HOLD_DAYS
    calendar days from j (at least PRICE_HOLD_SELLING_DAYS of them), differs by
    PRICE_MIN_PCT or more from the median of the PRICE_BEFORE_SELLING_DAYS selling
    days before j (at least PRICE_HOLD_SELLING_DAYS of those);
  - day j itself, the hold window's last day and PRICE_AGREEMENT (80%) of its days
    are at the new level (within PRICE_TOLERANCE, 1%, or a third of the step when
    that is less), and PRICE_BEFORE_AGREEMENT (two thirds) of the days before are
    nearer the old median than the new one.
  Medians ignore a promotion of a day or two, B2B or quantity-discount days and a
  mixed first day; a product selling once a week needs five weeks of sales at the
  new price, never one sale. Two steps are at least the new level apart: a second
  pass within the before window must move the level by PRICE_MIN_PCT again.
  Only steps dated before the product's first snapshot in the marketplace (before
  the connection was made when it has none) are kept: from then on the snapshots
  observe the price, so inferred and observed changes never cover the same days.

Stock-out, derived. A settled day with page views, no units and a Buy Box share of
0 is "out" (nobody could buy the product); a day with units, or with page views and
a Buy Box share above 0, is "in"; a day without units and without traffic (pending,
or no page views) tells nothing and neither breaks nor starts a run. A run of "out"
days after an "in" day is a stock-out when it has STOCK_OUT_MIN_DAYS "out" days; a
run still going on the last day needs one when the current inventory (FBA
fulfillable plus merchant quantity, read within INVENTORY_FRESH) is zero. The last
days' traffic is pending for three days: a trailing run of days without units is a
stock-out when the current inventory is zero and the product's rate over the
STOCK_OUT_RATE_DAYS before makes that many zero days unlikely (Poisson probability
below STOCK_OUT_P). A product selling 0.3 units a day has many zero days, but on
each the Buy Box share is above 0: none of them is "out".

Buy Box, derived. On settled days with page views that are not "out" (a stock-out
is not also a lost Buy Box), the share is below or at/above
settings.LISTING_BUY_BOX_THRESHOLD_PCT. The state changes after BUY_BOX_MIN_DAYS such
days in a row on the other side (lost / won_back, dated on the first of them); the
first state of the history is no event.

Every event carries the interval it happened in: from the start of the last day
known in the old state to the end of the day it is dated on (marketplace days).

Amazon restates units and sales for 30 days and traffic arrives 3 days late, so
each run recomputes the whole set of an ASIN in a marketplace and makes the stored
rows equal to it in one transaction: new keys are added, rows whose key no longer
holds are removed, and rows whose values moved are updated in place.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Min
from numpy.lib.stride_tricks import sliding_window_view

from cvrtracker.amazon.marketplaces import MARKETPLACES, day_start, marketplace_day
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib import clock
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.report import ZERO_DECIMAL_CURRENCIES
from cvrtracker.metrics.selectors import AsinHistory, metrics_asin_histories

from .changes import NewChange, listing_change_payload, listing_changes_store
from .models import InventoryLevel, Listing, ListingChange, ListingSnapshot

logger = logging.getLogger(__name__)

PRICE_MIN_PCT = 3.0
PRICE_HOLD_DAYS = 7
PRICE_HOLD_SELLING_DAYS = 5
PRICE_BEFORE_SELLING_DAYS = 14
PRICE_AGREEMENT = 0.8
PRICE_BEFORE_AGREEMENT = 2 / 3
PRICE_TOLERANCE = 0.01
STOCK_OUT_MIN_DAYS = 2
STOCK_OUT_RATE_DAYS = 28
STOCK_OUT_MIN_RATE_DAYS = 7
STOCK_OUT_P = 0.01
INVENTORY_FRESH = timedelta(days=2)
BUY_BOX_MIN_DAYS = 2
# How many days of the old and new state the before and after values summarise.
SUMMARY_DAYS = 7

Field = ListingChange.Field
Source = ListingChange.Source


@dataclass(frozen=True, slots=True)
class Step:
    """One event found in a series, by day index: `day` is the first day in the new
    state, `last_before` the last day known in the old one (None: not known)."""

    day: int
    last_before: int | None
    action: str
    before: Any
    after: Any
    extra: dict[str, Any] = field(default_factory=dict)


# -- pure analysis over one ASIN's arrays ------------------------------------------------


def price_steps(
    *,
    units: np.ndarray,
    sales: np.ndarray,
    fetched: np.ndarray,
    min_pct: float = PRICE_MIN_PCT,
    hold_days: int = PRICE_HOLD_DAYS,
    hold_selling_days: int = PRICE_HOLD_SELLING_DAYS,
    before_selling_days: int = PRICE_BEFORE_SELLING_DAYS,
    agreement: float = PRICE_AGREEMENT,
    before_agreement: float = PRICE_BEFORE_AGREEMENT,
    price_tolerance: float = PRICE_TOLERANCE,
) -> list[Step]:
    """Sustained steps of the daily average price (sales ÷ units, minor units), oldest
    first; before/after are the old and new median prices (floats, minor units)."""
    selling = np.flatnonzero(fetched & (units > 0) & (sales > 0))
    n, h, w = len(selling), hold_selling_days, before_selling_days
    if n < 2 * h:
        return []
    price = sales[selling] / units[selling]
    threshold = min_pct / 100 - 1e-9
    if price.max() < price.min() * (1 + threshold):
        return []  # no two days far enough apart: most products, at no cost
    last_fetched = int(np.flatnonzero(fetched)[-1])
    width = max(h, hold_days)
    # Hold window of j: the selling days of [day j, day j + hold_days), at least h of them.
    within = np.searchsorted(selling, selling + hold_days, side="left") - np.arange(n)
    size = np.maximum(within, h)
    padded = np.concatenate([price, np.full(width, np.nan)])
    hold = sliding_window_view(padded, width)[:n].copy()
    hold[np.arange(width)[None, :] >= size[:, None]] = np.nan
    before = sliding_window_view(np.concatenate([np.full(w, np.nan), price]), w)[:n]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # "All-NaN slice": the first rows have no day before; they are not used.
        warnings.simplefilter("ignore", RuntimeWarning)
        new = _row_medians(hold)
        old = _row_medians(before)
        rel = new / old - 1
        # "At the new level": within PRICE_TOLERANCE of it (a third of the step when
        # that is less). A price set by the seller repeats to the cent; days scattered by
        # business or quantity discounts do not, so they never make a level.
        tolerance = np.minimum(price_tolerance, np.abs(rel) / 3) * new
        at_new = np.abs(hold - new[:, None]) <= tolerance[:, None]
        nearer_old = np.abs(before - old[:, None]) < np.abs(before - new[:, None])
    rows = np.arange(n)
    complete = (rows + size <= n) & (selling + hold_days - 1 <= last_fetched)
    count_before = np.minimum(rows, w)
    enough_before = count_before >= h
    last_new = at_new[rows, np.minimum(size, width) - 1]
    passed = (
        complete
        & enough_before
        & (np.abs(rel) >= threshold)
        & at_new[:, 0]
        & last_new
        & (at_new.sum(axis=1) >= agreement * size - 1e-9)
        # The old level held too: not a median pulled down by a cluster of discount days.
        & (nearer_old.sum(axis=1) >= before_agreement * count_before - 1e-9)
    )
    steps: list[Step] = []
    level, last = 0.0, -(10**9)
    for j in np.flatnonzero(passed).tolist():
        # Within the before window of the last step, its new level is the level to move.
        if j - last <= w and abs(new[j] / level - 1) < threshold:
            continue
        steps.append(
            Step(
                day=int(selling[j]),
                last_before=int(selling[j - 1]),
                action="changed",
                before=float(old[j]),
                after=float(new[j]),
            )
        )
        level, last = float(new[j]), j
    return steps


def _row_medians(values: np.ndarray) -> np.ndarray:
    """The median of each row, NaN ignored (NaN for an all-NaN row); np.nanmedian is
    several times slower on many short rows."""
    ordered = np.sort(values, axis=1)  # NaN sorts last
    count = (~np.isnan(values)).sum(axis=1)
    rows = np.arange(len(values))
    low = ordered[rows, np.maximum((count - 1) // 2, 0)]
    high = ordered[rows, np.maximum(count // 2, 0)]
    return np.where(count > 0, (low + high) / 2, np.nan)


def stock_out_steps(
    *,
    units: np.ndarray,
    page_views: np.ndarray,
    buy_box: np.ndarray,
    pending: np.ndarray,
    fetched: np.ndarray,
    inventory_empty: bool | None = None,
    min_days: int = STOCK_OUT_MIN_DAYS,
    rate_days: int = STOCK_OUT_RATE_DAYS,
    p_max: float = STOCK_OUT_P,
) -> tuple[list[Step], np.ndarray]:
    """(out_of_stock / back_in_stock events oldest first, the "out" days as a bool mask).

    `inventory_empty`: whether the current inventory is zero (None: not known).
    before/after are the units of the last day in the old state and of the event's day.
    """
    observed = fetched & ~pending & (page_views > 0)
    out = observed & (units == 0) & (buy_box <= 0)
    came_in = fetched & ((units > 0) | (observed & (buy_box > 0)))
    if not out.any() and not inventory_empty:
        return [], out
    known = np.flatnonzero(out | came_in)
    if not len(known):
        return [], out
    is_out = out[known]
    # Runs of "out" among the days that tell something.
    edges = np.flatnonzero(np.diff(np.concatenate([[False], is_out, [False]]).astype(np.int8)))
    steps: list[Step] = []
    for start, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if start == 0:
            continue  # out since the history began: its start is not known
        first, last_in = int(known[start]), int(known[start - 1])
        still_out = end == len(known)
        count = end - start
        if count < min_days and not (still_out and inventory_empty and count >= 1):
            continue
        evidence = "buy_box+inventory" if still_out and inventory_empty else "buy_box"
        steps.append(
            Step(first, last_in, "out_of_stock", int(units[last_in]), 0, {"evidence": evidence})
        )
        if not still_out:
            back, last_out = int(known[end]), int(known[end - 1])
            steps.append(
                Step(
                    back,
                    last_out,
                    "back_in_stock",
                    0,
                    int(units[back]),
                    {"days": back - first},
                )
            )
    if inventory_empty and not is_out[-1]:
        step = _trailing_stock_out(units, fetched, out, int(known[-1]), rate_days, p_max)
        if step is not None:
            steps.append(step)
    return steps, out


def _trailing_stock_out(
    units: np.ndarray,
    fetched: np.ndarray,
    out: np.ndarray,
    last_in: int,
    rate_days: int,
    p_max: float,
) -> Step | None:
    """The days after the last "in" day carry no units and no traffic yet: a stock-out
    when the inventory is empty now and so many zero days are unlikely at the rate
    the product sold before."""
    after = np.flatnonzero(fetched[last_in + 1 :]) + last_in + 1
    if not len(after):
        return None
    history = np.flatnonzero(fetched[: last_in + 1] & ~out[: last_in + 1])[-rate_days:]
    if len(history) < STOCK_OUT_MIN_RATE_DAYS:
        return None
    rate = float(units[history].mean())
    if math.exp(-rate * len(after)) > p_max:
        return None
    first = int(after[0])
    return Step(first, last_in, "out_of_stock", int(units[last_in]), 0, {"evidence": "inventory"})


def buy_box_steps(
    *,
    buy_box: np.ndarray,
    page_views: np.ndarray,
    pending: np.ndarray,
    fetched: np.ndarray,
    out: np.ndarray,
    threshold: float,
    min_days: int = BUY_BOX_MIN_DAYS,
) -> list[Step]:
    """lost / won_back events oldest first; before/after are the median shares (percent)
    of up to SUMMARY_DAYS days of the old state and of the new one."""
    days = np.flatnonzero(fetched & ~pending & (page_views > 0) & ~out)
    if not len(days):
        return []
    share = buy_box[days]
    below = share < threshold
    if below.all() or not below.any():
        return []
    edges = np.flatnonzero(np.diff(below.astype(np.int8))) + 1
    starts = [0, *edges.tolist()]
    ends = [*edges.tolist(), len(days)]
    steps: list[Step] = []
    state: bool | None = None
    for start, end in zip(starts, ends, strict=True):
        side = bool(below[start])
        if end - start < min_days or side == state:
            continue  # a flicker around the threshold is no change
        if state is not None:
            earlier = np.flatnonzero(below[:start] == state)[-SUMMARY_DAYS:]
            steps.append(
                Step(
                    day=int(days[start]),
                    last_before=int(days[start - 1]),
                    action="lost" if side else "won_back",
                    before=round(float(np.median(share[earlier])), 2),
                    after=round(float(np.median(share[start : min(end, start + SUMMARY_DAYS)])), 2),
                    extra={"threshold": float(threshold)},
                )
            )
        state = side
    return steps


# -- services ------------------------------------------------------------------------------


@dataclass(slots=True)
class DeriveResult:
    asins: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0


def listing_changes_derive(
    *, connection: SellerConnection, marketplace_id: str, asins: list[str] | None = None
) -> DeriveResult:
    """Recompute the inferred price changes and the derived Buy Box and stock-out events
    of `asins` (None: every ASIN with metrics) in one marketplace, and make the stored
    rows equal to them; returns what was added, updated and removed.

    Idempotent: a second run with the same metrics changes nothing.
    """
    keys = ConnectionKeys(connection)
    result = DeriveResult()
    seen: set[str] = set()
    for history in metrics_asin_histories(
        connection=connection, marketplace_id=marketplace_id, asins=asins, keys=keys
    ):
        changes = _history_changes(connection, keys, marketplace_id, history)
        _replace(connection, keys, marketplace_id, history.asins, changes, result)
        seen.update(history.asins)
        result.asins += len(history.asins)
    # ASINs asked about (or, for a whole run, with stored events) that have no metrics
    # any more keep no inferred or derived event.
    stored = ListingChange.objects.filter(
        connection=connection,
        marketplace_id=marketplace_id,
        source__in=[Source.INFERRED, Source.DERIVED],
    )
    if asins is not None:
        stored = stored.filter(asin__in=asins)
    gone = sorted(set(stored.values_list("asin", flat=True).distinct()) - seen)
    for i in range(0, len(gone), 500):
        result.removed += stored.filter(asin__in=gone[i : i + 500]).delete()[0]
    return result


def _history_changes(
    connection: SellerConnection, keys: ConnectionKeys, marketplace_id: str, history: AsinHistory
) -> list[NewChange]:
    market = MARKETPLACES.get(marketplace_id)
    currency = market.currency if market else history.currency
    listings = _listings_by_asin(connection, marketplace_id, history.asins)
    cutoffs = _tracking_starts(connection, marketplace_id, history.asins)
    default_cutoff = marketplace_day(marketplace_id, connection.created_at)
    fetched = np.flatnonzero(history.fetched)
    last = int(fetched[-1]) if len(fetched) else -1
    # The inventory is read only for ASINs whose last day had no units.
    quiet = [a for i, a in enumerate(history.asins) if last >= 0 and history.units[i, last] == 0]
    empty = _inventory_empty(connection, keys, marketplace_id, quiet)
    threshold = float(settings.LISTING_BUY_BOX_THRESHOLD_PCT)
    out: list[NewChange] = []
    for i, asin in enumerate(history.asins):
        units, pending = history.units[i], history.pending[i]
        common = {
            "history": history,
            "marketplace_id": marketplace_id,
            "asin": asin,
            "listing": listings.get(asin),
        }
        cutoff = cutoffs.get(asin, default_cutoff)
        for step in price_steps(units=units, sales=history.sales[i], fetched=history.fetched):
            if history.day(step.day) < cutoff:
                out.append(_price_change(step, currency=currency, **common))
        stock_outs, out_days = stock_out_steps(
            units=units,
            page_views=history.page_views[i],
            buy_box=history.buy_box[i],
            pending=pending,
            fetched=history.fetched,
            inventory_empty=empty.get(asin),
        )
        for step in stock_outs:
            out.append(_event(step, Field.STOCK_OUT, **common))
        for step in buy_box_steps(
            buy_box=history.buy_box[i],
            page_views=history.page_views[i],
            pending=pending,
            fetched=history.fetched,
            out=out_days,
            threshold=threshold,
        ):
            out.append(_event(step, Field.BUY_BOX, **common))
    return out


def _interval(history: AsinHistory, marketplace_id: str, step: Step) -> dict[str, Any]:
    day = history.day(step.day)
    return {
        "day": day,
        "seen_after": (
            None
            if step.last_before is None
            else day_start(marketplace_id, history.day(step.last_before))
        ),
        "seen_at": day_start(marketplace_id, day + timedelta(days=1)),
    }


def _price_change(
    step: Step,
    *,
    history: AsinHistory,
    marketplace_id: str,
    asin: str,
    listing: Listing | None,
    currency: str,
) -> NewChange:
    before, after = round(step.before), round(step.after)
    interval = _interval(history, marketplace_id, step)
    return NewChange(
        key=f"inf:price:{marketplace_id}:{asin}:{interval['day']}",
        field=Field.PRICE,
        source=Source.INFERRED,
        marketplace_id=marketplace_id,
        payload={
            "action": "changed",
            "before": _money(before, currency),
            "after": _money(after, currency),
            "pct": round((after / before - 1) * 100, 2),
        },
        asin=asin,
        listing=listing,
        **interval,
    )


def _event(
    step: Step,
    field_kind: str,
    *,
    history: AsinHistory,
    marketplace_id: str,
    asin: str,
    listing: Listing | None,
) -> NewChange:
    interval = _interval(history, marketplace_id, step)
    return NewChange(
        key=f"der:{field_kind}:{marketplace_id}:{asin}:{interval['day']}:{step.action}",
        field=field_kind,
        source=Source.DERIVED,
        marketplace_id=marketplace_id,
        payload={"action": step.action, "before": step.before, "after": step.after, **step.extra},
        asin=asin,
        listing=listing,
        **interval,
    )


def _money(minor: int, currency: str) -> dict[str, str]:
    exponent = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    return {"amount": str(Decimal(minor).scaleb(-exponent)), "currency": currency}


def _listings_by_asin(
    connection: SellerConnection, marketplace_id: str, asins: list[str]
) -> dict[str, Listing]:
    """The listing an ASIN's events hang on: its oldest listing in the marketplace."""
    found: dict[str, Listing] = {}
    for listing in (
        Listing.objects.filter(connection=connection, marketplace_id=marketplace_id, asin__in=asins)
        .only("id", "asin", "sku", "connection_id", "marketplace_id")
        .order_by("created_at", "id")
    ):
        found.setdefault(listing.asin, listing)
    return found


def _tracking_starts(
    connection: SellerConnection, marketplace_id: str, asins: list[str]
) -> dict[str, date]:
    """The marketplace day of each ASIN's first snapshot there: tracking began that day."""
    rows = (
        ListingSnapshot.objects.filter(
            listing__connection=connection,
            listing__marketplace_id=marketplace_id,
            listing__asin__in=asins,
        )
        .values("listing__asin")
        .annotate(first=Min("taken_at"))
    )
    return {r["listing__asin"]: marketplace_day(marketplace_id, r["first"]) for r in rows}


def _inventory_empty(
    connection: SellerConnection, keys: ConnectionKeys, marketplace_id: str, asins: list[str]
) -> dict[str, bool]:
    """Whether each ASIN's current stock (FBA fulfillable + merchant quantity over its SKUs)
    is zero; ASINs without an inventory level read within INVENTORY_FRESH are left out."""
    if not asins:
        return {}
    fresh = clock.now() - INVENTORY_FRESH
    stock: dict[str, int] = {}
    code = keys.connection_code
    for level in InventoryLevel.objects.filter(
        connection=connection, marketplace_id=marketplace_id, asin__in=asins
    ):
        total = None
        if level.fba_enc and level.fba_updated_at and level.fba_updated_at >= fresh:
            aad = InventoryLevel.aad_for(code, marketplace_id, level.sku, "fba")
            fba = keys.data.decrypt_json(bytes(level.fba_enc), aad=aad)
            total = (total or 0) + int(fba.get("fulfillable") or 0)
        if level.mfn_quantity_enc and level.mfn_updated_at and level.mfn_updated_at >= fresh:
            aad = InventoryLevel.aad_for(code, marketplace_id, level.sku, "mfn_quantity")
            total = (total or 0) + int(
                keys.data.decrypt_json(bytes(level.mfn_quantity_enc), aad=aad) or 0
            )
        if total is not None:
            stock[level.asin] = stock.get(level.asin, 0) + total
    return {asin: quantity == 0 for asin, quantity in stock.items()}


def _replace(
    connection: SellerConnection,
    keys: ConnectionKeys,
    marketplace_id: str,
    asins: list[str],
    changes: list[NewChange],
    result: DeriveResult,
) -> None:
    """Make the stored inferred and derived rows of `asins` equal to `changes`."""
    wanted = {c.key: c for c in changes}
    with transaction.atomic():
        stored = ListingChange.objects.select_for_update().filter(
            connection=connection,
            marketplace_id=marketplace_id,
            asin__in=asins,
            source__in=[Source.INFERRED, Source.DERIVED],
        )
        stale, moved = [], []
        kept: set[str] = set()
        for row in stored:
            change = wanted.get(row.key)
            if change is None:
                stale.append(row.pk)
                continue
            kept.add(row.key)
            if _refresh(row, change, keys):
                moved.append(row)
        if stale:
            ListingChange.objects.filter(pk__in=stale).delete()
        if moved:
            ListingChange.objects.bulk_update(
                moved, ["listing", "sku", "seen_after", "seen_at", "payload_enc"]
            )
        new = [c for key, c in wanted.items() if key not in kept]
        result.added += listing_changes_store(connection=connection, changes=new, keys=keys)
    result.removed += len(stale)
    result.updated += len(moved)


def _refresh(row: ListingChange, change: NewChange, keys: ConnectionKeys) -> bool:
    """Bring a stored row whose key still holds up to date; True when it changed."""
    listing_id = change.listing.pk if change.listing else None
    sku = change.listing.sku if change.listing else ""
    payload = listing_change_payload(change=row, keys=keys)
    if (
        row.listing_id == listing_id
        and row.sku == sku
        and row.seen_after == change.seen_after
        and row.seen_at == change.seen_at
        and payload == change.payload
    ):
        return False
    row.listing_id, row.sku = listing_id, sku
    row.seen_after, row.seen_at = change.seen_after, change.seen_at
    row.payload_enc = keys.data.encrypt_json(change.payload, aad=row.aad("payload"))
    return True
