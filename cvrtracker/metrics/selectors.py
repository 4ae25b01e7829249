"""Read metrics for dashboards: decrypt whole month blocks, then sum with numpy.

Selectors take a SellerConnection the caller already resolved through
accounts/access.py, so tenant isolation is decided before any block is read.

Conversion rate (CVR) is units ordered / sessions, as a fraction. It is None when
there were no sessions, and for pending days (sales already reported, sessions
not yet): a pending day is unknown, never a conversion of zero or infinity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from cvrtracker.amazon.models import SellerConnection

from .blocks import (
    BUY_BOX,
    N_INT,
    ORDER_ITEMS,
    PAGE_VIEWS,
    PENDING,
    PERCENT_SCALE,
    PRESENT,
    SESSIONS,
    SHARDS,
    UNIT_SESSION,
    UNITS,
    BlockData,
    shard_of,
)
from .keys import ConnectionKeys
from .models import MetricBlock
from .report import Money
from .services import block_data, blocks_one_at_a_time, month_of

Granularity = MetricBlock.Granularity


def conversion_rate(units: int, sessions: int | None) -> float | None:
    """units / sessions; None without sessions (zero or still pending)."""
    if not sessions:
        return None
    return units / sessions


@dataclass(frozen=True, slots=True)
class DayMetrics:
    """One day of one ASIN or of the whole account. Traffic is None while pending."""

    day: date
    sessions: int | None
    page_views: int | None
    units_ordered: int
    total_order_items: int
    ordered_product_sales: Money
    buy_box_percentage: float | None
    unit_session_percentage: float | None
    pending: bool

    @property
    def conversion_rate(self) -> float | None:
        return None if self.pending else conversion_rate(self.units_ordered, self.sessions)


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One ASIN's totals over a window, for the dashboard's product table.

    Sessions, page views and buy-box share cover settled days only; units and sales
    cover every day. CVR uses units of settled days only, so a pending day with
    sales and no sessions yet cannot inflate it.
    """

    asin: str
    parent_asin: str
    sessions: int
    page_views: int
    units_ordered: int
    settled_units_ordered: int
    total_order_items: int
    ordered_product_sales: Money
    buy_box_percentage: float | None
    days: int
    pending_days: int

    @property
    def conversion_rate(self) -> float | None:
        return conversion_rate(self.settled_units_ordered, self.sessions)


SORT_FIELDS = (
    "asin",
    "sessions",
    "page_views",
    "units_ordered",
    "ordered_product_sales",
    "conversion_rate",
    "buy_box_percentage",
)


def metrics_account_series(
    *, connection: SellerConnection, marketplace_id: str, start: date, end: date
) -> list[DayMetrics]:
    """The account's days in [start, end] that have been fetched, oldest first."""
    return _account_series(ConnectionKeys(connection), connection, marketplace_id, start, end)


def metrics_product_series(
    *,
    connection: SellerConnection,
    asin: str,
    start: date,
    end: date,
    marketplace_id: str | None = None,
) -> list[DayMetrics]:
    """One child ASIN's fetched days in [start, end]; zeros on a fetched day without its row.

    `marketplace_id` may be left out when the connection has metrics in one
    marketplace only (ValueError otherwise: sales in two currencies do not add up).
    """
    marketplace_id = marketplace_id or _only_marketplace(connection)
    keys = ConnectionKeys(connection)
    series: list[DayMetrics] = []
    absent: list[int] = []  # positions in series of fetched days without the ASIN's values
    for block, data, cols in _blocks(
        keys, connection, marketplace_id, Granularity.ASIN, start, end, shard=shard_of(asin)
    ):
        row = _row_of(data.keys, asin)
        if row is None:
            # Fetched but absent: no activity that day.
            absent += range(len(series), len(series) + len(cols))
            series += [_zero_day(block.day(i), data.currency, pending=False) for i in cols]
        else:
            flags = data.flags[row]
            absent += (len(series) + k for k, i in enumerate(cols) if not flags[i] & PRESENT)
            series += _series(block, data, row, cols, set())
            del flags
        # One block's buffers at a time: none of this one is held while the next is read.
        del block, data
    if absent:
        # Whether a whole day is pending is an account-level fact, read (from the
        # account's small blocks) only for the days the ASIN's own shard has nothing.
        first, last = series[absent[0]].day, series[absent[-1]].day
        pending_days = {
            day.day
            for day in _account_series(keys, connection, marketplace_id, first, last)
            if day.pending
        }
        for k in absent:
            zero = series[k]
            if zero.day in pending_days:
                series[k] = _zero_day(zero.day, zero.ordered_product_sales.currency, pending=True)
    return series


def metrics_product_table(
    *,
    connection: SellerConnection,
    marketplace_id: str,
    start: date,
    end: date,
    order_by: str = "-units_ordered",
    limit: int | None = None,
) -> list[ProductRow]:
    """Per-ASIN totals over [start, end], sorted by `order_by` ('-' for descending).

    Rows whose sort value is None (no conversion rate yet) come last either way;
    ties are broken by ASIN.
    """
    field = order_by.lstrip("-")
    if field not in SORT_FIELDS:
        raise ValueError(f"cannot sort the product table by {order_by!r}")
    keys = ConnectionKeys(connection)
    parts: list[dict[str, np.ndarray]] = []
    parents: dict[str, str] = {}
    currency = ""
    for _, data, cols in _blocks(keys, connection, marketplace_id, Granularity.ASIN, start, end):
        if not data.keys:
            continue
        currency = data.currency or currency
        parents.update(zip(data.keys, data.parents, strict=True))
        parts.append(_window_sums(data, cols))
    if not parts:
        return []
    asins, totals = _combine(parts)
    sort_values = _sort_values(field, asins, totals)
    if order_by.startswith("-"):
        sort_values = -sort_values
    missing = np.isnan(sort_values)
    # lexsort: the last key is the primary one; asins are sorted, so their rank breaks ties.
    order = np.lexsort((np.arange(len(asins)), np.where(missing, 0, sort_values), missing))
    if limit is not None:
        order = order[:limit]
    return [_product_row(asins[i], parents, totals, i, currency) for i in order]


@dataclass(frozen=True, slots=True)
class WindowTotals:
    """Per-ASIN sums over one window as arrays aligned with sorted `asins` (int64):
    sessions, page_views and settled_units cover settled days only (see ProductRow)."""

    asins: np.ndarray
    sessions: np.ndarray
    page_views: np.ndarray
    units: np.ndarray
    settled_units: np.ndarray
    sales: np.ndarray

    def conversion_rates(self) -> np.ndarray:
        """settled units ÷ sessions per ASIN; NaN without sessions."""
        sessions = self.sessions.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(sessions > 0, self.settled_units / sessions, np.nan)


def metrics_window_totals(
    *, connection: SellerConnection, marketplace_id: str, windows: list[tuple[date, date]]
) -> list[WindowTotals]:
    """Per-ASIN totals over each [start, end] window, as arrays (no row objects), reading
    every month block once for all windows: two adjacent periods cost one pass.

    For the dashboard's comparisons of 5,000 products, where building ProductRows for
    both periods costs more than reading the blocks."""
    keys = ConnectionKeys(connection)
    parts: list[list[dict[str, np.ndarray]]] = [[] for _ in windows]
    first, last = min(w[0] for w in windows), max(w[1] for w in windows)
    for block, data, cols in _blocks(
        keys, connection, marketplace_id, Granularity.ASIN, first, last
    ):
        if not data.keys:
            continue
        for part, (start, end) in zip(parts, windows, strict=True):
            inside = [i for i in cols if start <= block.day(i) <= end]
            if inside:
                part.append(_window_sums(data, inside))
    out = []
    for part in parts:
        if not part:
            empty = np.zeros(0, np.int64)
            out.append(WindowTotals(np.array([], str), *([empty] * 5)))
            continue
        asins, totals = _combine(part)
        out.append(
            WindowTotals(
                asins=asins,
                sessions=totals["sessions"],
                page_views=totals["page_views"],
                units=totals["units"],
                settled_units=totals["settled_units"],
                sales=totals["sales"],
            )
        )
    return out


def metrics_days_fetched(
    *,
    connection: SellerConnection,
    marketplace_id: str,
    start: date,
    end: date,
    granularity: str = Granularity.ASIN,
) -> dict[date, datetime]:
    """When each day in [start, end] was last stored; no decryption (backfill progress)."""
    blocks = MetricBlock.objects.filter(
        connection=connection,
        marketplace_id=marketplace_id,
        granularity=granularity,
        # Every shard of a month is written with each day: shard 0 tells for all.
        shard=0,
        month__gte=month_of(start),
        month__lte=end,
    ).only("month", "fetched")
    found = {}
    for block in blocks:
        for i, stamp in enumerate(block.fetched):
            day = block.day(i)
            if stamp and start <= day <= end:
                found[day] = datetime.fromisoformat(stamp)
    return found


@dataclass(frozen=True, slots=True)
class AsinHistory:
    """Every stored day of some ASINs of one shard, as [ASIN, day] arrays for analysis.

    Days run from `first_day`, one column per calendar day. A day not fetched has
    `fetched` False and zeros; a fetched day without the ASIN's row had no activity.
    Traffic (sessions, page views, buy box) is unknown where `pending` is True.
    """

    asins: list[str]
    first_day: date
    currency: str
    fetched: np.ndarray  # bool [days]
    units: np.ndarray  # int64 [asins, days]
    sales: np.ndarray  # int64 [asins, days], minor units
    sessions: np.ndarray  # int64 [asins, days]
    page_views: np.ndarray  # int64 [asins, days]
    buy_box: np.ndarray  # float64 [asins, days], percent
    pending: np.ndarray  # bool [asins, days]

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)


def metrics_asin_histories(
    *,
    connection: SellerConnection,
    marketplace_id: str,
    asins: list[str] | None = None,
    keys: ConnectionKeys | None = None,
) -> Iterator[AsinHistory]:
    """The whole stored history of `asins` (None: every ASIN) in one marketplace, one
    AsinHistory per shard that has any of them, so a 50,000-ASIN seller is read a
    sixteenth at a time. Every shard covers the same calendar days."""
    keys = keys or ConnectionKeys(connection)
    months = list(
        MetricBlock.objects.filter(
            connection=connection, marketplace_id=marketplace_id, granularity=Granularity.ASIN
        )
        .values_list("month", flat=True)
        .distinct()
    )
    if not months:
        return
    first, last = min(months), max(months)
    end = month_of(last + timedelta(days=31)) - timedelta(days=1)
    n_days = (end - first).days + 1
    # Whether a whole day is pending is an account-level fact (see metrics_product_series).
    pending_days = np.zeros(n_days, bool)
    for day in _account_series(keys, connection, marketplace_id, first, end):
        if day.pending:
            pending_days[(day.day - first).days] = True
    wanted = None if asins is None else sorted(set(asins))
    shards = range(SHARDS) if wanted is None else sorted({shard_of(a) for a in wanted})
    for shard in shards:
        history = _shard_history(
            keys, connection, marketplace_id, shard, wanted, first, n_days, pending_days
        )
        if history is not None:
            yield history


def _shard_history(
    keys: ConnectionKeys,
    connection: SellerConnection,
    marketplace_id: str,
    shard: int,
    wanted: list[str] | None,
    first: date,
    n_days: int,
    pending_days: np.ndarray,
) -> AsinHistory | None:
    blocks = MetricBlock.objects.filter(
        connection=connection,
        marketplace_id=marketplace_id,
        granularity=Granularity.ASIN,
        shard=shard,
    ).order_by("month")
    parts = []
    fetched = np.zeros(n_days, bool)
    currency = ""
    for block in blocks:
        offset = (block.month - first).days
        stamps = [bool(s) for s in block.fetched[: block.n_days]]
        fetched[offset : offset + len(stamps)] |= stamps
        data = block_data(block, keys)
        if not data.keys:
            continue
        currency = data.currency or currency
        rows = np.arange(len(data.keys))
        if wanted is not None:
            rows = rows[np.isin(np.array(data.keys), wanted)]
            if not len(rows):
                continue
        parts.append((offset, [data.keys[i] for i in rows], data, rows))
    asins = sorted({a for _, names, _, _ in parts for a in names})
    if not asins:
        return None
    n = len(asins)
    ints = np.zeros((N_INT, n, n_days), np.int64)
    sales = np.zeros((n, n_days), np.int64)
    flags = np.zeros((n, n_days), np.uint8)
    lookup = np.array(asins)
    for offset, names, data, rows in parts:
        at = np.searchsorted(lookup, np.array(names))
        width = data.n_days
        ints[:, at, offset : offset + width] = data.ints[:, rows, :]
        sales[at, offset : offset + width] = data.sales[rows, :]
        flags[at, offset : offset + width] = data.flags[rows, :]
    pending = ((flags & PENDING) > 0) | pending_days[None, :]
    return AsinHistory(
        asins=asins,
        first_day=first,
        currency=currency,
        fetched=fetched,
        units=ints[UNITS],
        sales=sales,
        sessions=ints[SESSIONS],
        page_views=ints[PAGE_VIEWS],
        buy_box=ints[BUY_BOX] / PERCENT_SCALE,
        pending=pending,
    )


# -- helpers ------------------------------------------------------------------------------


def _only_marketplace(connection: SellerConnection) -> str:
    markets = list(
        MetricBlock.objects.filter(connection=connection)
        .values_list("marketplace_id", flat=True)
        .distinct()
    )
    if len(markets) > 1:
        raise ValueError("this connection has metrics in several marketplaces: pass one")
    return markets[0] if markets else ""


def _account_series(
    keys: ConnectionKeys, connection: SellerConnection, marketplace_id: str, start: date, end: date
) -> list[DayMetrics]:
    series = []
    for block, data, cols in _blocks(
        keys, connection, marketplace_id, Granularity.ACCOUNT, start, end
    ):
        if data.keys:
            series += _series(block, data, 0, cols, set())
    return series


def _blocks(
    keys: ConnectionKeys,
    connection: SellerConnection,
    marketplace_id: str,
    granularity: str,
    start: date,
    end: date,
    *,
    shard: int | None = None,
) -> Iterator[tuple[MetricBlock, BlockData, list[int]]]:
    """(block, decrypted data, fetched day indexes within [start, end]) per block,
    in (month, shard) order; one shard only when `shard` is given."""
    blocks = MetricBlock.objects.filter(
        connection=connection,
        marketplace_id=marketplace_id,
        granularity=granularity,
        month__gte=month_of(start),
        month__lte=end,
    ).order_by("month", "shard")
    if shard is not None:
        blocks = blocks.filter(shard=shard)
    # A 50,000-ASIN seller's month blocks are never all in memory at once: ASIN blocks
    # (3 MB each at that size) stream one at a time in one query (blocks_one_at_a_time);
    # the account's small blocks come as a plain query.
    found = (
        blocks_one_at_a_time(blocks, keys=keys) if granularity == Granularity.ASIN else iter(blocks)
    )
    for block in found:
        first = max(start, block.month)
        last = min(end, block.month + timedelta(days=block.n_days - 1))
        cols = [
            i for i in range(first.day - 1, last.day) if i < len(block.fetched) and block.fetched[i]
        ]
        if cols:
            yield block, block_data(block, keys), cols
        del block  # not held while the next block is read (blocks_one_at_a_time)


def _row_of(keys: list[str], asin: str) -> int | None:
    i = int(np.searchsorted(np.array(keys), asin)) if keys else 0
    return i if i < len(keys) and keys[i] == asin else None


def _zero_day(day: date, currency: str, *, pending: bool) -> DayMetrics:
    return DayMetrics(
        day=day,
        sessions=None if pending else 0,
        page_views=None if pending else 0,
        units_ordered=0,
        total_order_items=0,
        ordered_product_sales=Money(0, currency),
        buy_box_percentage=None if pending else 0.0,
        unit_session_percentage=None if pending else 0.0,
        pending=pending,
    )


def _series(
    block: MetricBlock, data: BlockData, row: int, cols: list[int], pending_days: set[date]
) -> list[DayMetrics]:
    ints = data.ints[:, row, :].tolist()
    sales, flags = data.sales[row].tolist(), data.flags[row].tolist()
    out = []
    for i in cols:
        if not flags[i] & PRESENT:
            day = block.day(i)
            out.append(_zero_day(day, data.currency, pending=day in pending_days))
            continue
        pending = bool(flags[i] & PENDING)
        out.append(
            DayMetrics(
                day=block.day(i),
                sessions=None if pending else ints[SESSIONS][i],
                page_views=None if pending else ints[PAGE_VIEWS][i],
                units_ordered=ints[UNITS][i],
                total_order_items=ints[ORDER_ITEMS][i],
                ordered_product_sales=Money(sales[i], data.currency),
                buy_box_percentage=None if pending else ints[BUY_BOX][i] / PERCENT_SCALE,
                unit_session_percentage=(
                    None if pending else ints[UNIT_SESSION][i] / PERCENT_SCALE
                ),
                pending=pending,
            )
        )
    return out


_SUMS = (
    "sessions",
    "page_views",
    "units",
    "settled_units",
    "items",
    "sales",
    "buy_box_weight",
    "days",
    "pending_days",
)


def _window_sums(data: BlockData, cols: list[int]) -> dict[str, np.ndarray]:
    """Per-row sums over the window's columns of one block (int64)."""
    ints = data.ints[:, :, cols].astype(np.int64)
    flags = data.flags[:, cols]
    present = (flags & PRESENT) > 0
    pending = (flags & PENDING) > 0
    settled = present & ~pending
    return {
        "keys": np.array(data.keys),
        "sessions": (ints[SESSIONS] * settled).sum(axis=1),
        "page_views": (ints[PAGE_VIEWS] * settled).sum(axis=1),
        "units": ints[UNITS].sum(axis=1),
        "settled_units": (ints[UNITS] * settled).sum(axis=1),
        "items": ints[ORDER_ITEMS].sum(axis=1),
        "sales": data.sales[:, cols].sum(axis=1, dtype=np.int64),
        "buy_box_weight": (ints[BUY_BOX] * ints[PAGE_VIEWS] * settled).sum(axis=1),
        "days": present.sum(axis=1),
        "pending_days": pending.sum(axis=1),
    }


def _combine(parts: list[dict[str, np.ndarray]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sum the parts of several months per ASIN; ASINs come back sorted."""
    if len(parts) == 1:
        return parts[0]["keys"], parts[0]
    asins, inverse = np.unique(np.concatenate([p["keys"] for p in parts]), return_inverse=True)
    totals = {}
    for name in _SUMS:
        total = np.zeros(len(asins), np.int64)
        np.add.at(total, inverse, np.concatenate([p[name] for p in parts]))
        totals[name] = total
    return asins, totals


def _sort_values(field: str, asins: np.ndarray, totals: dict[str, np.ndarray]) -> np.ndarray:
    """A float per ASIN to sort by; NaN where the value is None."""
    sessions = totals["sessions"].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if field == "asin":
            return np.arange(len(asins), dtype=np.float64)
        if field == "conversion_rate":
            return np.where(sessions > 0, totals["settled_units"] / sessions, np.nan)
        if field == "buy_box_percentage":
            views = totals["page_views"].astype(np.float64)
            return np.where(views > 0, totals["buy_box_weight"] / views, np.nan)
    column = {"units_ordered": "units", "ordered_product_sales": "sales"}.get(field, field)
    return totals[column].astype(np.float64)


def _product_row(
    asin: str, parents: dict[str, str], totals: dict[str, np.ndarray], i: int, currency: str
) -> ProductRow:
    views = int(totals["page_views"][i])
    return ProductRow(
        asin=str(asin),
        parent_asin=parents.get(str(asin), ""),
        sessions=int(totals["sessions"][i]),
        page_views=views,
        units_ordered=int(totals["units"][i]),
        settled_units_ordered=int(totals["settled_units"][i]),
        total_order_items=int(totals["items"][i]),
        ordered_product_sales=Money(int(totals["sales"][i]), currency),
        buy_box_percentage=(
            round(int(totals["buy_box_weight"][i]) / views / PERCENT_SCALE, 2) if views else None
        ),
        days=int(totals["days"][i]),
        pending_days=int(totals["pending_days"][i]),
    )
