"""The product table: one row per product of a seller account's marketplace, with the
period's sums, the previous period's conversion and a small trend.

One pass over the encrypted month blocks that cover both periods (the previous
period and the current one are adjacent) sums every ASIN with numpy; titles,
stock and suppression are decrypted only where they are needed: the rows of the
page shown, or every candidate row while a search or a filter asks for them.

Conversion is always Σunits ÷ Σsessions of settled days (a day whose traffic has
not arrived is left out of both), never an average of daily percentages; a
parent's subtotal is the sum of its children.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.core.cache import cache
from django.db import connection as db
from django.db import models
from django.db.models import QuerySet
from django.http import QueryDict

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib.collect import gc_paused, memory_release
from cvrtracker.lib.crypto import DecryptionError, associated_data
from cvrtracker.listings.diff import is_suppressing
from cvrtracker.listings.models import InventoryLevel, Listing, ListingChange
from cvrtracker.metrics.blocks import (
    BUY_BOX,
    PAGE_VIEWS,
    PENDING,
    PERCENT_SCALE,
    PRESENT,
    SESSIONS,
    UNITS,
    BlockData,
)
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.quick import metrics_quick_totals
from cvrtracker.metrics.services import block_data, blocks_one_at_a_time, month_of

from .scope import Period, Scope

PAGE_SIZE = 50
# Product keys, ASINs and SKUs are held in numpy's variable-width string arrays: a string
# of up to 15 bytes (an ASIN, most SKUs) takes 16 bytes inside the array, where a Python
# string takes ~60 and a pointer in a list. A 50,000-product table holds several such
# columns; as lists of strings they were ~15 MB of a download's memory.
STR = np.dtypes.StringDType()
TREND_POINTS = 30
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})

# ?sort= keys (a leading "-" sorts descending) and the row attribute each sorts by.
SORT_KEYS = {
    "asin": "key",
    "sessions": "sessions",
    "page_views": "page_views",
    "units": "units",
    "revenue": "revenue_minor",
    "conversion": "conversion",
    "buy_box": "buy_box",
    "previous_conversion": "previous_conversion",
    "conversion_change": "conversion_change",
}
DEFAULT_SORT = "-units"

SHOW_TRACKED, SHOW_ALL = "tracked", "all"


class StockState(models.TextChoices):
    IN_STOCK = "in_stock", "In stock"
    OUT_OF_STOCK = "out_of_stock", "Out of stock"
    UNKNOWN = "unknown", "Not known"


TRACKING_LABELS = {
    Listing.Tracking.TRACKED: "Tracked",
    Listing.Tracking.OVER_LIMIT: "Not tracked: plan limit",
    Listing.Tracking.STOPPED: "Not tracked",
    "": "Not tracked: no listing",
}


@dataclass(frozen=True)
class TableParams:
    """What the seller asked for, read from the query string (see table_params_from_query)."""

    show: str = SHOW_TRACKED
    q: str = ""
    sort: str = DEFAULT_SORT
    changed: bool = False
    out_of_stock: bool = False
    suppressed: bool = False
    group: str = ""
    page: int = 1

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


def table_params_from_query(query: QueryDict) -> TableParams:
    """The table's parameters; unknown values fall back to the defaults."""
    sort = query.get("sort") or DEFAULT_SORT
    if sort.lstrip("-") not in SORT_KEYS:
        sort = DEFAULT_SORT
    page = query.get("page") or "1"
    return TableParams(
        show=SHOW_ALL if query.get("show") == SHOW_ALL else SHOW_TRACKED,
        q=(query.get("q") or "").strip()[:200],
        sort=sort,
        changed=query.get("changed") == "1",
        out_of_stock=query.get("stock") == "out",
        suppressed=query.get("suppressed") == "1",
        group="parent" if query.get("group") == "parent" else "",
        page=int(page) if page.isdigit() and 0 < int(page) < 10**6 else 1,
    )


@dataclass
class TableRow:
    """One product (or a parent's subtotal when `is_parent`), as the page and export show it."""

    asin: str
    parent_asin: str = ""
    skus: list[str] = field(default_factory=list)
    title: str = ""
    sessions: int = 0
    page_views: int = 0
    units: int = 0
    settled_units: int = 0
    revenue_minor: int = 0
    currency: str = ""
    buy_box_weight: int = 0
    previous_sessions: int = 0
    previous_settled_units: int = 0
    pending_days: int = 0
    tracking: str = ""
    changed: bool = False
    stock: str = StockState.UNKNOWN
    suppressed: bool | None = None
    # Σunits and Σsessions of settled days per trend bucket of the current period.
    trend_units: list[int] = field(default_factory=list)
    trend_sessions: list[int] = field(default_factory=list)
    is_parent: bool = False
    children: int = 0
    continued: bool = False
    # Internal: listing ids of the product in this marketplace (titles, content).
    listing_ids: list[int] = field(default_factory=list, repr=False)

    @property
    def key(self) -> str:
        return self.asin or (f"sku:{self.skus[0]}" if self.skus else "")

    @property
    def conversion(self) -> float | None:
        return self.settled_units / self.sessions if self.sessions else None

    @property
    def previous_conversion(self) -> float | None:
        if not self.previous_sessions:
            return None
        return self.previous_settled_units / self.previous_sessions

    @property
    def conversion_change(self) -> float | None:
        """The change in conversion in percentage points; None when a side has no sessions."""
        now, before = self.conversion, self.previous_conversion
        if now is None or before is None:
            return None
        return (now - before) * 100

    @property
    def buy_box(self) -> float | None:
        """Buy Box share in percent, weighted by page views (as Amazon weighs it)."""
        if not self.page_views:
            return None
        return self.buy_box_weight / self.page_views / PERCENT_SCALE

    # What the page prints and the export writes: the same rounded numbers.
    @property
    def conversion_percent(self) -> float | None:
        return None if self.conversion is None else round(self.conversion * 100, 2)

    @property
    def previous_conversion_percent(self) -> float | None:
        c = self.previous_conversion
        return None if c is None else round(c * 100, 2)

    @property
    def conversion_change_points(self) -> float | None:
        c = self.conversion_change
        return None if c is None else round(c, 2)

    @property
    def buy_box_percent(self) -> float | None:
        return None if self.buy_box is None else round(self.buy_box, 1)

    @property
    def revenue(self) -> Decimal:
        places = 0 if self.currency in ZERO_DECIMAL_CURRENCIES else 2
        return Decimal(self.revenue_minor).scaleb(-places)

    @property
    def tracking_label(self) -> str:
        return TRACKING_LABELS.get(self.tracking, "Not tracked")

    @property
    def is_tracked(self) -> bool:
        return self.tracking == Listing.Tracking.TRACKED

    @property
    def stock_label(self) -> str:
        return StockState(self.stock).label

    @property
    def trend(self) -> list[float | None]:
        """Conversion (percent) per bucket of the period; None for a bucket without sessions."""
        return [
            u / s * 100 if s else None
            for u, s in zip(self.trend_units, self.trend_sessions, strict=True)
        ]

    def sort_value(self, key: str) -> float | str | None:
        value = getattr(self, SORT_KEYS[key])
        return value


@dataclass(frozen=True)
class TableSource:
    """Where the numbers come from: the daily blocks, or the first-minute range totals."""

    quick: bool = False
    start: date | None = None
    end: date | None = None
    fetched_at: datetime | None = None
    # The period's days whose traffic has not arrived yet, and the last settled one.
    pending_days: int = 0
    days_fetched: int = 0


@dataclass(frozen=True)
class TablePage:
    rows: list[TableRow]
    total: int  # rows (products, plus parents when grouped) matching, over all pages
    page: int
    pages: int
    source: TableSource
    currency: str

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


# -- the selectors ---------------------------------------------------------------------


def product_table_rows(
    *, scope: Scope, period: Period, params: TableParams, trend: bool = True
) -> Iterator[TableRow]:
    """Every row that matches `params`, sorted, with titles, stock and suppression (the
    export); parents' subtotals come before their children when grouped. Rows are built
    and decorated 500 at a time. Without `trend` the rows have no trend line: the export
    writes none, and leaving it out saves ~25 MB at 50,000 products."""
    table, order, source = _matching(scope, period, params, trend=trend)
    layout = _layout(table, order, params)
    # What ranking freed (block buffers, the listings read) goes back before rows are made.
    memory_release()
    for start in range(0, len(layout), 500):
        chunk = layout.rows(layout.entries(start, start + 500))
        _decorate(scope, chunk)
        yield from chunk


def product_table_page(
    *, scope: Scope, period: Period, params: TableParams, page_size: int = PAGE_SIZE
) -> TablePage:
    """One page of `page_size` rows and how many match (the page number is clamped)."""
    table, order, source = _matching(scope, period, params)
    layout = _layout(table, order, params)
    total = len(layout)
    pages = max(1, math.ceil(total / page_size))
    number = min(params.page, pages)
    shown = layout.rows(layout.entries((number - 1) * page_size, number * page_size))
    if shown and params.group and not shown[0].is_parent and shown[0].parent_asin:
        # A group cut by the page break: repeat its subtotal on top of this page.
        parent = layout.parent_row(shown[0].parent_asin)
        shown = [replace(parent, continued=True), *shown]
    _decorate(scope, shown)
    return TablePage(
        rows=shown,
        total=total,
        page=number,
        pages=pages,
        source=source,
        currency=scope.currency,
    )


# -- the candidate rows, as columns ------------------------------------------------------

# Per-row sums: the current period's, and the previous period's settled traffic.
_SUMS = (
    "sessions",
    "page_views",
    "units",
    "settled",
    "sales",
    "bb",
    "prev_sessions",
    "prev_settled",
)


@dataclass(slots=True)
class _Product:
    skus: list[str] = field(default_factory=list)
    listing_ids: list[int] = field(default_factory=list)
    tracking: str = ""


@dataclass
class _Catalog:
    """The products listed in a marketplace as columns: product `p` has the listings
    `first[p]:first[p + 1]` of `skus` and `listing_ids` (sorted by SKU) and one tracking
    state. A 50,000-product seller's catalogue is then a few arrays, not 50,000 objects
    each with two lists (~20 MB less while exporting). The tracking states are one byte
    per product, an index into `states` (a list of 50,000 pointers was 400 KB)."""

    skus: np.ndarray  # STR
    listing_ids: np.ndarray  # int64
    first: np.ndarray  # int32, one more than there are products
    tracking: np.ndarray  # uint8, each product's state in `states`
    states: list[str]

    def tracked(self) -> np.ndarray:
        """Per product, whether it is tracked."""
        tracked = np.array([s == Listing.Tracking.TRACKED for s in self.states], bool)
        return tracked[self.tracking] if len(tracked) else np.zeros(len(self.tracking), bool)

    def product(self, p: int) -> _Product | None:
        """Product `p` as one object (None for -1: no listing)."""
        if p < 0:
            return None
        a, b = int(self.first[p]), int(self.first[p + 1])
        return _Product(
            skus=self.skus[a:b].tolist(),
            listing_ids=self.listing_ids[a:b].tolist(),
            tracking=self.states[self.tracking[p]],
        )


def _no_listings(tracking: list[str]) -> _Catalog:
    """A catalogue of products without listings (parents' subtotals, the empty table)."""
    states = list(dict.fromkeys(tracking))
    code = {state: i for i, state in enumerate(states)}
    return _Catalog(
        skus=np.array([], STR),
        listing_ids=np.zeros(0, np.int64),
        first=np.zeros(len(tracking) + 1, np.int64),
        tracking=np.array([code[t] for t in tracking], np.uint8),
        states=states,
    )


@dataclass
class _Metrics:
    """Per-ASIN sums over both periods, aligned with `asins` (sorted, STR), and their
    parents (STR, "" for a product that is its own parent). `parents`, the sums and the
    trend have one row more than `asins`, the last: "" and zeros, the row of a product
    without metrics (the table points its rows at it rather than copying every column)."""

    asins: np.ndarray
    parents: np.ndarray
    sums: dict[str, np.ndarray]
    trend_units: np.ndarray  # [asins, buckets]
    trend_sessions: np.ndarray
    currency: str


@dataclass
class _Table:
    """Every candidate row as numpy columns: sorting and paging 10,000 products never
    builds 10,000 objects; TableRow objects are made for the rows shown (or exported).
    Keys and ASINs are STR arrays (lists for the parents' subtotals), one per row.

    `parents`, `sums` and the trend stay in the metrics' order (_Metrics, with its empty
    last row): row `i`'s are at `metric[i]`. One index array instead of a gathered copy
    of every column: at 50,000 products the copies overlapped the originals by ~3 MB
    while the table was built (~25 MB more on the page, with the trend)."""

    keys: np.ndarray | list[str]
    asins: np.ndarray | list[str]
    catalog: _Catalog
    # Row numbers are int32 (a table has far fewer than 2**31 rows): 200 KB, not 400 KB,
    # per column at 50,000 products.
    product: np.ndarray  # int32: each row's product in `catalog`, -1 without a listing
    metric: np.ndarray  # int32: each row's row in `parents`, `sums` and the trend
    parents: np.ndarray | list[str]
    sums: dict[str, np.ndarray]
    trend_units: np.ndarray
    trend_sessions: np.ndarray
    changed: np.ndarray  # bool
    currency: str
    pending_days: int

    def product_of(self, i: int) -> _Product | None:
        return self.catalog.product(int(self.product[i]))

    def tracked(self) -> np.ndarray:
        """Per row, whether its product is tracked."""
        return (self.product >= 0) & np.append(self.catalog.tracked(), False)[self.product]

    def parent(self, i: int) -> str:
        """Row `i`'s parent ASIN ("" when it is its own)."""
        return self.parents[int(self.metric[i])]

    def rows(self, index: np.ndarray | list[int]) -> list[TableRow]:
        out = []
        sums = {name: self.sums[name] for name in _SUMS}
        for i in np.asarray(index, dtype=np.int64).tolist():
            product = self.product_of(i)
            m = int(self.metric[i])
            out.append(
                TableRow(
                    asin=self.asins[i],
                    parent_asin=self.parents[m],
                    skus=product.skus if product else [],
                    sessions=int(sums["sessions"][m]),
                    page_views=int(sums["page_views"][m]),
                    units=int(sums["units"][m]),
                    settled_units=int(sums["settled"][m]),
                    revenue_minor=int(sums["sales"][m]),
                    currency=self.currency,
                    buy_box_weight=int(sums["bb"][m]),
                    previous_sessions=int(sums["prev_sessions"][m]),
                    previous_settled_units=int(sums["prev_settled"][m]),
                    pending_days=self.pending_days,
                    tracking=product.tracking if product else "",
                    changed=bool(self.changed[i]),
                    trend_units=self.trend_units[m].tolist(),
                    trend_sessions=self.trend_sessions[m].tolist(),
                    listing_ids=product.listing_ids if product else [],
                )
            )
        return out

    def sort_values(self, key: str) -> np.ndarray:
        """A float per row to sort by; NaN where the value is None (as TableRow computes it).
        Computed in the metrics' order, then taken for the table's rows."""
        s = self.sums

        def rate(part: str, whole: str) -> np.ndarray:
            total = s[whole].astype(np.float64)
            return np.where(total > 0, s[part] / total, np.nan)

        # Only the asked column is computed: at 50,000 rows each is 400 KB.
        values = {
            "asin": lambda: np.zeros(len(s["sessions"])),  # _ranking sorts by the key
            "sessions": lambda: s["sessions"].astype(np.float64),
            "page_views": lambda: s["page_views"].astype(np.float64),
            "units": lambda: s["units"].astype(np.float64),
            "revenue": lambda: s["sales"].astype(np.float64),
            "conversion": lambda: rate("settled", "sessions"),
            "previous_conversion": lambda: rate("prev_settled", "prev_sessions"),
            "conversion_change": lambda: (
                (rate("settled", "sessions") - rate("prev_settled", "prev_sessions")) * 100
            ),
            "buy_box": lambda: rate("bb", "page_views") / PERCENT_SCALE,
        }
        with np.errstate(divide="ignore", invalid="ignore"):
            return values[key]()[self.metric]


def _matching(
    scope: Scope, period: Period, params: TableParams, *, trend: bool = True
) -> tuple[_Table, np.ndarray, TableSource]:
    """The candidate rows and the sorted indexes of those matching `params` (without the
    trend columns when `trend` is False)."""
    with gc_paused():
        return _match(scope, period, params, trend=trend)


def _match(
    scope: Scope, period: Period, params: TableParams, *, trend: bool
) -> tuple[_Table, np.ndarray, TableSource]:
    connection = scope.connection
    if connection is None or not scope.marketplace_id:
        return _empty_table(), np.zeros(0, np.int64), TableSource()
    try:
        keys = ConnectionKeys(connection)
    except DecryptionError:
        # The account's key was destroyed: nothing of it can be read any more.
        return _empty_table(), np.zeros(0, np.int64), TableSource()
    metrics, source = _metrics_cached(
        keys,
        connection,
        scope.marketplace_id,
        period,
        history_start=scope.history_start,
        trend=trend,
    )
    if source.days_fetched == 0:
        quick = _quick_metrics(connection, scope.marketplace_id)
        if quick is not None:
            metrics, source = quick
    # The export (no trend) gives what each stage freed back before the next one: their
    # peaks then do not stack on each other's leftovers (see memory_release).
    if not trend:
        memory_release()
    listed, catalog = _products(connection, scope.marketplace_id, release=not trend)
    if not trend:
        memory_release()
    changed = _changed_keys(connection, scope.marketplace_id, period)
    table = _table(
        metrics,
        listed,
        catalog,
        changed,
        source,
        tracked_only=params.show == SHOW_TRACKED,
    )
    # The table holds what it needs of these; the rest is not kept while it is ranked.
    del metrics, listed, catalog, changed
    if not trend:
        memory_release()
    # None: every row (no 50,000-entry arange held while they are ranked).
    index = None
    if params.changed or params.q or params.out_of_stock or params.suppressed:
        index = np.arange(len(table.keys))
    if params.changed:
        index = index[table.changed[index]]
    if params.q:
        index = _search(keys, table, index, params.q)
    if params.out_of_stock:
        rows = table.rows(index)
        _fill_stock(keys, connection, scope.marketplace_id, rows)
        index = index[np.array([r.stock == StockState.OUT_OF_STOCK for r in rows], bool)]
    if params.suppressed:
        rows = table.rows(index)
        _fill_suppressed(keys, rows)
        index = index[np.array([bool(r.suppressed) for r in rows], bool)]
    return table, _order(table, index, params.sort_key, params.descending), source


def _empty_table() -> _Table:
    empty = np.array([], STR)
    return _table(
        _Metrics(
            empty,
            np.array([""], STR),
            {n: np.zeros(1, np.int64) for n in _SUMS},
            _zeros(1, 0),
            _zeros(1, 0),
            "",
        ),
        empty,
        _no_listings([]),
        set(),
        TableSource(),
        tracked_only=False,
    )


def _zeros(n: int, m: int) -> np.ndarray:
    return np.zeros((n, m), np.int64)


def _order(table: _Table, index: np.ndarray | None, key: str, descending: bool) -> np.ndarray:
    """`index` (None: every row) sorted by `key`; rows without a value last either way;
    ties by product key."""
    if index is None or len(index) == len(table.keys):
        # Every row (`index` is always in ascending order, so it is 0..n-1): no copies
        # of the columns, and the ranking is the order itself.
        return _ranking(table.keys, table.sort_values(key), key, descending)
    if not len(index):
        return index
    keys = np.asarray(table.keys)[index]
    return index[_ranking(keys, table.sort_values(key)[index], key, descending)]


def _ranking(
    keys: np.ndarray | list[str], values: np.ndarray, key: str, descending: bool
) -> np.ndarray:
    """The order of rows with these keys and sort values (NaN: no value, last either way)."""
    # STR keys are sorted as they are: as fixed-width strings they would take 40 bytes
    # each (2 MB at 50,000 rows); sorting them is ~15 ms there, what building the
    # fixed-width array from a list of strings took before.
    rank = np.argsort(np.argsort(np.asarray(keys), kind="stable"), kind="stable")
    if key == "asin":
        values = rank.astype(np.float64)
    missing = np.isnan(values)
    values = np.where(missing, 0.0, -values if descending else values)
    return np.lexsort((rank, values, missing))


def _table(
    metrics: _Metrics,
    listed: np.ndarray,
    catalog: _Catalog,
    changed: set[str],
    source: TableSource,
    *,
    tracked_only: bool,
) -> _Table:
    """The candidate rows: tracked products (or every product listed or with metrics),
    each with its metric row when it has one. `listed` are the keys of `catalog`'s
    products (STR). Joined with numpy (the metrics' ASINs are sorted), not a dict.

    The table keeps `metrics`' columns as they are and points each of its rows at its
    metric row (the empty last one without metrics): nothing is copied."""
    n = len(metrics.asins)
    of_listed = _lookup(metrics.asins, listed, missing=-1)
    if tracked_only:
        chosen = np.flatnonzero(catalog.tracked()).astype(np.int32)
    else:
        chosen = np.arange(len(listed), dtype=np.int32)
    # Every product chosen: the listed keys as they are, not a copy.
    keys = listed if len(chosen) == len(listed) else listed[chosen]
    pick = of_listed[chosen]
    if not tracked_only:
        # ASINs with metrics and no listing.
        known = np.zeros(n, bool)
        known[of_listed[of_listed >= 0]] = True
        extra = np.flatnonzero(~known).astype(np.int32)
        keys = np.concatenate([keys, metrics.asins[extra]])
        pick = np.concatenate([pick, extra])
        chosen = np.concatenate([chosen, np.full(len(extra), -1, np.int32)])
        del known, extra
    del of_listed
    # A product without metrics points at the metrics' empty last row.
    pick[pick < 0] = n
    metrics.asins = None
    sku_keys = np.strings.startswith(keys, "sku:")
    return _Table(
        keys=keys,
        # The keys themselves when every product has an ASIN (no second array).
        asins=np.where(sku_keys, "", keys).astype(STR) if sku_keys.any() else keys,
        catalog=catalog,
        product=chosen,
        metric=pick,
        parents=metrics.parents,
        sums=metrics.sums,
        trend_units=metrics.trend_units,
        trend_sessions=metrics.trend_sessions,
        changed=_among(keys, changed),
        currency=metrics.currency,
        pending_days=source.pending_days,
    )


def _among(keys: np.ndarray, wanted: set[str]) -> np.ndarray:
    """Per key of `keys` (STR), whether it is in `wanted` (np.isin compares variable-width
    strings pair by pair: 2 s at 50,000 keys; a binary search takes milliseconds)."""
    lookup = np.sort(np.array(list(wanted), STR))
    return _lookup(lookup, keys, missing=-1) >= 0


def _products(
    connection: SellerConnection, marketplace_id: str, *, release: bool = False
) -> tuple[np.ndarray, _Catalog]:
    """The keys of the products listed in this marketplace (STR) and their catalogue: SKUs,
    listings and tracking (one product is tracked when any of its listings is: they
    share one state; else the state of its first SKU). With `release` (the export), the
    rows' freed memory goes back to the system every 5,000 listings (memory_release)."""
    tracking = array("B")
    first = array("q")
    ids = array("q")
    # Keys and SKUs go into string arrays 5,000 at a time (see STR).
    keys: list[np.ndarray] = []
    skus: list[np.ndarray] = []
    key_part: list[str] = []
    sku_part: list[str] = []
    last = None
    # A product's listings come together (by ASIN; one SKU without an ASIN is a product
    # of its own), each product's by SKU; streamed, so the rows are never all in memory
    # (for the export 1,000 at a time: 5,000 left ~3 MB more of freed rows behind).
    listings = (
        Listing.objects.filter(connection=connection, marketplace_id=marketplace_id)
        .order_by("asin", "sku")
        .values_list("pk", "asin", "sku", "tracking")
        .iterator(chunk_size=1000 if release else 5000)
    )
    # One byte per product for its tracking state (see _Catalog).
    states: list[str] = [state.value for state in Listing.Tracking]
    codes = {state: i for i, state in enumerate(states)}
    for pk, asin, sku, state in listings:
        code = codes.get(state)
        if code is None:
            code = codes[state] = len(states)
            states.append(state)
        key = asin or f"sku:{sku}"
        if key != last:
            key_part.append(key)
            tracking.append(code)
            first.append(len(ids))
            last = key
        elif state == Listing.Tracking.TRACKED or not states[tracking[-1]]:
            tracking[-1] = code
        sku_part.append(sku)
        ids.append(pk)
        if len(sku_part) == 5000:
            keys.append(np.array(key_part, STR))
            skus.append(np.array(sku_part, STR))
            key_part, sku_part = [], []
            if release:
                memory_release()
    keys.append(np.array(key_part, STR))
    skus.append(np.array(sku_part, STR))
    first.append(len(ids))
    catalog = _Catalog(
        skus=np.concatenate(skus),
        listing_ids=np.array(ids, np.int64),
        first=np.array(first, np.int32),
        tracking=np.array(tracking, np.uint8),
        states=states,
    )
    return np.concatenate(keys), catalog


# The period's sums stay in the cache until a sync rewrites a block of their months
# (the key names the blocks' last update); larger values are not cached at all, so a
# 50,000-product seller never fills a worker's memory with them.
TABLE_CACHE_SECONDS = 600
TABLE_CACHE_MAX_BYTES = 8 * 1024 * 1024


def _metrics_cached(
    keys: ConnectionKeys,
    connection: SellerConnection,
    marketplace_id: str,
    period: Period,
    *,
    history_start: date | None,
    trend: bool,
) -> tuple[_Metrics, TableSource]:
    """_metrics, kept in the cache while its blocks are unchanged: sorting, paging,
    searching or filtering the same period reads no block again.

    The value is encrypted with the connection's data key like every Amazon figure at
    rest (the cache may be Redis), and holds arrays only (no pickle). The export (no
    trend) is not cached: it is rare, and what it would add is memory it must not hold."""
    if not trend:
        return _metrics(
            keys, connection, marketplace_id, period, history_start=history_start, trend=False
        )
    previous_start = max(period.previous_start, history_start or period.previous_start)
    # What the blocks hold: every write bumps a block's version and stamps the days it
    # stored in `fetched`, so any change to them gives another key.
    stamp = hashlib.sha256()
    for row in (
        MetricBlock.objects.filter(
            connection=connection,
            marketplace_id=marketplace_id,
            granularity=MetricBlock.Granularity.ASIN,
            month__gte=month_of(previous_start),
            month__lte=period.end,
        )
        .order_by("month", "shard")
        .values_list("pk", "version", "updated_at", "fetched")
    ):
        stamp.update(repr(row).encode())
    name = (
        f"dashboard.table:{keys.connection_code}:{marketplace_id}:{period.start}:{period.end}:"
        f"{previous_start}:{period.previous_end}:{trend}:{TREND_POINTS}:{stamp.hexdigest()}"
    )
    key = "dashboard.table:" + hashlib.sha256(name.encode()).hexdigest()
    aad = name.encode()
    blob = cache.get(key)
    if blob is not None:
        try:
            return _metrics_load(keys.data.decrypt(blob, aad=aad))
        except (DecryptionError, ValueError, KeyError):
            pass  # another key or a damaged entry: compute it again
    metrics, source = _metrics(
        keys, connection, marketplace_id, period, history_start=history_start, trend=trend
    )
    if source.days_fetched:
        value = _metrics_dump(metrics, source)
        if len(value) <= TABLE_CACHE_MAX_BYTES:
            cache.set(key, keys.data.encrypt(value, aad=aad), timeout=TABLE_CACHE_SECONDS)
    return metrics, source


def _metrics_dump(metrics: _Metrics, source: TableSource) -> bytes:
    out = io.BytesIO()
    meta = {
        "currency": metrics.currency,
        "start": source.start.isoformat() if source.start else "",
        "end": source.end.isoformat() if source.end else "",
        "pending_days": source.pending_days,
        "days_fetched": source.days_fetched,
    }
    small = np.int32 if not metrics.trend_units.size or metrics.trend_units.max() < 2**31 else None
    # Without the empty last row: it is added back on load.
    n = len(metrics.asins)
    np.savez(
        out,
        meta=np.array(json.dumps(meta)),
        asins=_fixed_width(metrics.asins),
        parents=_fixed_width(metrics.parents[:n]),
        trend_units=metrics.trend_units[:n].astype(small or np.int64),
        trend_sessions=metrics.trend_sessions[:n].astype(small or np.int64),
        **{f"sum_{name}": metrics.sums[name][:n] for name in _SUMS},
    )
    return out.getvalue()


def _fixed_width(strings: np.ndarray) -> np.ndarray:
    """A STR array as fixed-width strings (np.savez stores no variable-width ones)."""
    return strings.astype(f"<U{int(np.strings.str_len(strings).max(initial=0)) or 1}")


def _with_empty_row(values: np.ndarray) -> np.ndarray:
    """`values` and a row of zeros after them (_Metrics' row for no metrics)."""
    return np.concatenate([values, np.zeros((1, *values.shape[1:]), values.dtype)])


def _metrics_load(value: bytes) -> tuple[_Metrics, TableSource]:
    with np.load(io.BytesIO(value), allow_pickle=False) as saved:
        meta = json.loads(str(saved["meta"]))
        n = len(saved["asins"])
        metrics = _Metrics(
            asins=saved["asins"].astype(STR) if n else np.array([], STR),
            parents=np.append(saved["parents"].astype(STR) if n else np.array([], STR), ""),
            sums={name: _with_empty_row(saved[f"sum_{name}"]) for name in _SUMS},
            trend_units=_with_empty_row(saved["trend_units"].astype(np.int64)),
            trend_sessions=_with_empty_row(saved["trend_sessions"].astype(np.int64)),
            currency=meta["currency"],
        )
    source = TableSource(
        start=date.fromisoformat(meta["start"]) if meta["start"] else None,
        end=date.fromisoformat(meta["end"]) if meta["end"] else None,
        pending_days=meta["pending_days"],
        days_fetched=meta["days_fetched"],
    )
    return metrics, source


def _metrics(
    keys: ConnectionKeys,
    connection: SellerConnection,
    marketplace_id: str,
    period: Period,
    *,
    history_start: date | None,
    trend: bool = True,
) -> tuple[_Metrics, TableSource]:
    """Per-ASIN sums of the current and the previous period, in one pass over the blocks
    that cover both (each block decrypted once), and the current period's trend (none
    when `trend` is False).

    Blocks are read one at a time (blocks_one_at_a_time): a 50,000-product seller's
    three months are ~50 blocks of 3 MB, never all in memory at once.

    The previous period stops at the plan's history start like the current one: the
    plan's older days are kept but not shown, not even as a comparison."""
    previous_start = max(period.previous_start, history_start or period.previous_start)
    blocks = MetricBlock.objects.filter(
        connection=connection,
        marketplace_id=marketplace_id,
        granularity=MetricBlock.Granularity.ASIN,
        month__gte=month_of(previous_start),
        month__lte=period.end,
    ).order_by("month", "shard")
    asins, parents = _row_index(blocks)
    if not trend:
        # The export: what reading the index freed goes back before the blocks are read.
        memory_release()
    n = len(asins)
    n_buckets = min(TREND_POINTS, period.days) if trend else 0
    # One more row than there are ASINs: a block row missing from the index (a sync
    # wrote the block after the index was read) is summed there, and left out.
    out = _Sums(
        sums={name: np.zeros(n + 1, _COUNTS.get(name, np.int64)) for name in _SUMS},
        trend_units=_zeros(n + 1, n_buckets),
        trend_sessions=_zeros(n + 1, n_buckets),
    )
    fetched_days: set[date] = set()
    currency = ""
    # The export (no trend) gives freed block buffers back as it goes: see
    # blocks_one_at_a_time.
    for block in blocks_one_at_a_time(blocks, keys=keys, release=not trend):
        current = _fetched_cols(block, period.start, period.end)
        previous = _fetched_cols(block, previous_start, period.previous_end)
        fetched_days.update(block.day(i) for i in current)
        if not (current or previous) or not block.rows:
            continue
        data = block_data(block, keys)
        currency = currency or data.currency
        _add_block(block, data, _positions(asins, data.keys), current, previous, period, out)
        # Let this block's buffers go before the next one is read.
        del block, data
    source = TableSource(
        start=period.start,
        end=period.end,
        pending_days=len(out.pending_days),
        days_fetched=len(fetched_days),
    )
    # The spare row becomes the row of "no metrics" (see _Metrics).
    for values in (*out.sums.values(), out.trend_units, out.trend_sessions):
        values[n] = 0
    metrics = _Metrics(asins, parents, out.sums, out.trend_units, out.trend_sessions, currency)
    return metrics, source


@dataclass
class _Sums:
    """What _metrics adds up, block by block."""

    sums: dict[str, np.ndarray]
    trend_units: np.ndarray
    trend_sessions: np.ndarray
    pending_days: set[date] = field(default_factory=set)


# Counts (sessions, page views, units) are summed in int32: a product's count over two
# periods is far below 2**31, and at 50,000 products each column is 200 KB instead of
# 400 KB. _Adder checks every addition and widens a column to int64 before it could
# overflow, so no sum ever wraps. Money and the Buy Box weight (share x page views)
# stay int64.
_COUNTS = {
    name: np.int32
    for name in ("sessions", "page_views", "units", "settled", "prev_sessions", "prev_settled")
}
_INT32 = np.iinfo(np.int32)


@dataclass
class _Adder:
    """Adds a block's per-row sums into `sums` (see _COUNTS)."""

    sums: dict[str, np.ndarray]

    def add(self, name: str, at: np.ndarray, values: np.ndarray) -> None:
        column = self.sums[name]
        if column.dtype == np.int32 and len(values):
            # The largest and smallest result any row could reach by this addition.
            high = int(column.max()) + max(int(values.max()), 0)
            low = int(column.min()) + min(int(values.min()), 0)
            if high > _INT32.max or low < _INT32.min:
                column = self.sums[name] = column.astype(np.int64)
        column[at] += values


def _add_block(
    block: MetricBlock,
    data: BlockData,
    at: np.ndarray,
    current: list[int],
    previous: list[int],
    period: Period,
    out: _Sums,
) -> None:
    """Add one block's days of the current period (`current`) and of the previous one
    (`previous`) to `out`; `at` is each block row's row in `out`. A function of its own
    so that its temporaries (~3 MB for a 50,000-product seller's block) are gone before
    the next block is read."""
    sums = _Adder(out.sums)
    n_buckets = out.trend_units.shape[1]
    flags = data.flags
    settled = (flags & (PRESENT | PENDING)) == PRESENT
    if current:
        cols = _columns(current)
        ok = settled[:, cols]
        sessions = data.ints[SESSIONS][:, cols]
        views = data.ints[PAGE_VIEWS][:, cols]
        units = data.ints[UNITS][:, cols]
        # Sums `where` a day is settled rather than of products with 0/1: no temporary
        # block-sized arrays (and views, not copies, when the days are contiguous).
        sums.add("sessions", at, sessions.sum(axis=1, dtype=np.int64, where=ok))
        sums.add("page_views", at, views.sum(axis=1, dtype=np.int64, where=ok))
        sums.add("units", at, units.sum(axis=1, dtype=np.int64))
        sums.add("settled", at, units.sum(axis=1, dtype=np.int64, where=ok))
        sums.add("sales", at, data.sales[:, cols].sum(axis=1, dtype=np.int64))
        weighted = np.multiply(data.ints[BUY_BOX][:, cols], views, dtype=np.int64)
        sums.add("bb", at, weighted.sum(axis=1, where=ok))
        del weighted
        pending = (flags[:, cols] & PENDING).any(axis=0)
        days = np.arange(flags.shape[1])[cols]
        out.pending_days.update(block.day(int(i)) for i in days[pending])
        if n_buckets:
            # The period's days fall into buckets in order: sum each run of days.
            buckets = ((block.month - period.start).days + days) * n_buckets // period.days
            starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
            where = np.ix_(at, buckets[starts])
            out.trend_units[where] += np.add.reduceat(units * ok, starts, axis=1, dtype=np.int64)
            out.trend_sessions[where] += np.add.reduceat(
                sessions * ok, starts, axis=1, dtype=np.int64
            )
    if previous:
        cols = _columns(previous)
        ok = settled[:, cols]
        sums.add("prev_sessions", at, data.ints[SESSIONS][:, cols].sum(1, dtype=np.int64, where=ok))
        sums.add("prev_settled", at, data.ints[UNITS][:, cols].sum(1, dtype=np.int64, where=ok))


def _columns(days: list[int]) -> slice | np.ndarray:
    """Day indexes as a slice when they run without a gap (numpy then gives views)."""
    if days and days[-1] - days[0] == len(days) - 1:
        return slice(days[0], days[-1] + 1)
    return np.array(days, np.int64)


def _row_index(blocks: QuerySet[MetricBlock]) -> tuple[np.ndarray, np.ndarray]:
    """Every ASIN of `blocks`, sorted, and its parent (the latest month's; "" for a
    product that is its own parent), as two STR arrays; the parents have one more, ""
    (_Metrics' row for no metrics). The row index is plaintext (jsonb): it is read
    before any decryption.

    On PostgreSQL the database unnests the blocks' rows and keeps one per ASIN: a
    50,000-product seller's three months are 150,000 [asin, parent] pairs, which parsed
    into Python lists left ~9 MB of fragmented heap behind. Elsewhere, in Python."""
    found_asins: list[np.ndarray] = []
    found_parents: list[np.ndarray] = []
    if db.vendor == "postgresql":
        ids = list(blocks.values_list("id", flat=True))
        table = db.ops.quote_name(MetricBlock._meta.db_table)
        # Identifiers from the model, values as parameters.
        sql = f"""
            SELECT DISTINCT ON (e.value->>0) e.value->>0,
                   CASE WHEN e.value->>1 = e.value->>0 THEN '' ELSE coalesce(e.value->>1, '') END
            FROM {table} b CROSS JOIN LATERAL jsonb_array_elements(b.rows) e
            WHERE b.id = ANY(%s)
            ORDER BY e.value->>0, b.month DESC, b.shard DESC"""  # noqa: S608
        with db.chunked_cursor() as cursor:
            cursor.execute(sql, [ids])
            while chunk := cursor.fetchmany(5000):
                found_asins.append(np.array([a for a, _ in chunk], STR))
                found_parents.append(np.array([p for _, p in chunk], STR))
                del chunk
    else:
        parent_of: dict[str, str] = {}
        for rows in blocks.values_list("rows", flat=True).iterator(chunk_size=4):
            for asin, parent in rows or ():
                parent_of[asin] = "" if parent == asin else parent or ""
        found_asins.append(np.array(list(parent_of), STR))
        found_parents.append(np.array(list(parent_of.values()), STR))
        del parent_of
    asins = np.concatenate(found_asins) if found_asins else np.array([], STR)
    parents = np.concatenate(found_parents) if found_parents else np.array([], STR)
    # Sorted as Python sorts strings (the database's collation may sort otherwise). The
    # parents get _Metrics' empty last row.
    order = np.argsort(asins, kind="stable")
    return asins[order], np.append(parents[order], "")


def _positions(asins: np.ndarray, keys: list[str]) -> np.ndarray:
    """Where each of `keys` is in the sorted `asins`; len(asins) for a key not there."""
    return _lookup(asins, np.array(keys, STR), missing=len(asins))


def _lookup(ordered: np.ndarray, wanted: np.ndarray, *, missing: int) -> np.ndarray:
    """Where each of `wanted` (STR) is in the sorted `ordered` (STR), `missing` where it
    is not. 8,192 at a time: at 50,000 keys, the whole searches' temporaries were ~2 MB.
    int32: positions in an array held in memory are far below 2**31."""
    out = np.full(len(wanted), missing, np.int32)
    n = len(ordered)
    if not n:
        return out
    for start in range(0, len(wanted), 8192):
        part = wanted[start : start + 8192]
        at = np.minimum(np.searchsorted(ordered, part), n - 1)
        found = ordered[at] == part
        out[start : start + 8192][found] = at[found]
    return out


def _fetched_cols(block: MetricBlock, start: date, end: date) -> list[int]:
    first = max(start, block.month)
    last = min(end, block.month + timedelta(days=block.n_days - 1))
    if first > last:
        return []
    fetched = block.fetched or []
    return [i for i in range(first.day - 1, last.day) if i < len(fetched) and fetched[i]]


def _quick_metrics(
    connection: SellerConnection, marketplace_id: str
) -> tuple[_Metrics, TableSource] | None:
    """The first-minute range totals (no previous period, no trend), or None."""
    quick = metrics_quick_totals(connection=connection, marketplace_id=marketplace_id)
    if quick is None:
        return None
    rows = sorted(quick.rows, key=lambda r: r.asin)
    sums = {
        "sessions": [r.sessions for r in rows],
        "page_views": [r.page_views for r in rows],
        "units": [r.units_ordered for r in rows],
        "settled": [r.settled_units_ordered for r in rows],
        "sales": [r.ordered_product_sales.amount_minor for r in rows],
        "bb": [round((r.buy_box_percentage or 0) * PERCENT_SCALE) * r.page_views for r in rows],
        "prev_sessions": [0] * len(rows),
        "prev_settled": [0] * len(rows),
    }
    metrics = _Metrics(
        asins=np.array([r.asin for r in rows], STR),
        parents=np.array(
            [r.parent_asin if r.parent_asin and r.parent_asin != r.asin else "" for r in rows]
            + [""],
            STR,
        ),
        sums={name: np.array([*values, 0], np.int64) for name, values in sums.items()},
        trend_units=_zeros(len(rows) + 1, 0),
        trend_sessions=_zeros(len(rows) + 1, 0),
        currency=quick.currency,
    )
    pending = max((r.pending_days for r in rows), default=0)
    source = TableSource(
        quick=True,
        start=quick.start,
        end=quick.end,
        fetched_at=quick.fetched_at,
        pending_days=pending,
        days_fetched=(quick.end - quick.start).days + 1,
    )
    return metrics, source


def _changed_keys(connection: SellerConnection, marketplace_id: str, period: Period) -> set[str]:
    """Product keys with a listing change dated in the period."""
    found = (
        ListingChange.objects.filter(
            connection=connection,
            marketplace_id=marketplace_id,
            day__gte=period.start,
            day__lte=period.end,
        )
        .values_list("asin", "sku")
        .distinct()
    )
    return {asin or f"sku:{sku}" for asin, sku in found}


# -- search, sort, group ---------------------------------------------------------------


def _search(keys: ConnectionKeys, table: _Table, index: np.ndarray, q: str) -> np.ndarray:
    """The rows of `index` whose ASIN, a SKU or the title contains `q` (case-insensitive).
    Titles are encrypted: they are decrypted once, only for rows the ASIN and SKUs miss."""
    needle = q.casefold()
    found, rest = [], {}
    for i in index.tolist():
        product = table.product_of(i)
        skus = product.skus if product else ()
        if needle in table.asins[i].casefold() or any(needle in s.casefold() for s in skus):
            found.append(i)
        elif product is not None:
            rest[i] = product.listing_ids
    titles = _titles(keys, [pk for ids in rest.values() for pk in ids])
    found += [
        i for i, ids in rest.items() if any(needle in titles.get(pk, "").casefold() for pk in ids)
    ]
    return np.array(sorted(found), np.int64)


PRODUCT, PARENT = 0, 1


@dataclass
class _Layout:
    """The rows in display order as (PRODUCT, row of `table`) or (PARENT, row of
    `parents`, a table of subtotals), one pair per line of an int64 array (not 50,000
    tuples); row objects are built only for a page, or a chunk of the export.

    Without groups every line is a product: `order` alone is kept, and the pairs are
    made for the lines asked (`entries`), not for all 50,000 at once (800 KB)."""

    table: _Table
    order: np.ndarray | None = None  # without groups: rows of `table`, in display order
    pairs: np.ndarray | None = None  # with groups: [rows, 2]
    parents: _Table | None = None
    children: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.order if self.pairs is None else self.pairs)

    def entries(self, start: int, stop: int) -> np.ndarray:
        """Lines `start:stop` as (kind, row) pairs."""
        if self.pairs is not None:
            return self.pairs[start:stop]
        part = self.order[start:stop]
        return np.column_stack([np.full(len(part), PRODUCT, np.int64), part])

    def rows(self, entries: np.ndarray) -> list[TableRow]:
        pairs = entries.tolist()
        products = iter(self.table.rows([i for kind, i in pairs if kind == PRODUCT]))
        return [next(products) if kind == PRODUCT else self._parent(i) for kind, i in pairs]

    def parent_row(self, asin: str) -> TableRow:
        assert self.parents is not None
        return self._parent(self.parents.keys.index(asin))

    def _parent(self, g: int) -> TableRow:
        assert self.parents is not None
        row = self.parents.rows([g])[0]
        row.is_parent, row.children = True, self.children[g]
        return row


def _layout(table: _Table, order: np.ndarray, params: TableParams) -> _Layout:
    """The display order: `order` as it is, or, grouped by parent, each parent's subtotal
    (sums of its matching children: conversion Σunits ÷ Σsessions) followed by its
    children; groups and products without a parent sorted together by their value."""
    if not params.group:
        return _Layout(table, order=order)
    index = order.tolist()
    names = sorted({p for i in index if (p := table.parent(i))})
    group = {name: g for g, name in enumerate(names)}
    members: list[list[int]] = [[] for _ in names]
    alone = []
    for i in index:
        parent = table.parent(i)
        if parent:
            members[group[parent]].append(i)
        else:
            alone.append(i)
    # The children's rows in the metrics' columns.
    child_rows = table.metric[np.array([i for m in members for i in m], np.int64)]
    of_group = np.repeat(np.arange(len(names)), [len(m) for m in members])

    def total(values: np.ndarray) -> np.ndarray:
        out = np.zeros((len(names), *values.shape[1:]), np.int64)
        np.add.at(out, of_group, values[child_rows])
        return out

    # A parent counts as tracked when one of its children is.
    tracked = table.tracked()
    parents = _Table(
        keys=names,
        asins=names,
        catalog=_no_listings([Listing.Tracking.TRACKED] * len(names)),
        product=np.array([g if tracked[m].any() else -1 for g, m in enumerate(members)], np.int32),
        metric=np.arange(len(names), dtype=np.int32),
        parents=[""] * len(names),
        sums={name: total(table.sums[name]) for name in _SUMS},
        trend_units=total(table.trend_units),
        trend_sessions=total(table.trend_sessions),
        changed=np.array([bool(table.changed[m].any()) for m in members], bool),
        currency=table.currency,
        pending_days=table.pending_days,
    )
    heads = [(PARENT, g) for g in range(len(names))] + [(PRODUCT, i) for i in alone]
    keys = names + [table.keys[i] for i in alone]
    values = np.concatenate(
        [
            parents.sort_values(params.sort_key),
            table.sort_values(params.sort_key)[np.array(alone, np.int64)],
        ]
    )
    entries: list[tuple[int, int]] = []
    for h in _ranking(keys, values, params.sort_key, params.descending).tolist():
        kind, i = heads[h]
        entries.append((kind, i))
        if kind == PARENT:
            entries += [(PRODUCT, child) for child in members[i]]
    pairs = np.array(entries, np.int64).reshape(-1, 2)
    return _Layout(table, pairs=pairs, parents=parents, children=[len(m) for m in members])


# -- titles, stock, suppression: decrypted for the rows that need them ---------------------


def _decorate(scope: Scope, rows: list[TableRow]) -> None:
    """Titles, stock, suppression and the "changed" mark of the rows shown or exported."""
    connection = scope.connection
    if connection is None or not rows:
        return
    keys = ConnectionKeys(connection)
    products = [r for r in rows if not r.is_parent]
    _fill_titles(keys, products)
    _fill_stock(keys, connection, scope.marketplace_id, products)
    _fill_suppressed(keys, products)


def _fill_titles(keys: ConnectionKeys, rows: list[TableRow]) -> None:
    titles = _titles(keys, [pk for row in rows if not row.title for pk in row.listing_ids])
    for row in rows:
        row.title = row.title or next((titles[pk] for pk in row.listing_ids if titles.get(pk)), "")


def _titles(keys: ConnectionKeys, listing_ids: list[int]) -> dict[int, str]:
    """The decrypted titles of some listings, by id (listings without one are left out)."""
    titles = {}
    for start in range(0, len(listing_ids), 2000):
        chunk = listing_ids[start : start + 2000]
        found = Listing.objects.filter(pk__in=chunk, title_enc__isnull=False).values_list(
            "pk", "code", "title_enc"
        )
        for pk, code, title_enc in found:
            try:
                titles[pk] = keys.data.decrypt_str(
                    bytes(title_enc), aad=associated_data(Listing.TABLE, str(code), "title")
                )
            except DecryptionError:
                continue
    return titles


def _fill_stock(
    keys: ConnectionKeys,
    connection: SellerConnection,
    marketplace_id: str,
    rows: list[TableRow],
) -> None:
    """In stock when any SKU of the product has fulfillable FBA or merchant stock; out of
    stock when every known quantity is zero; not known without an inventory read."""
    by_sku = {sku: row for row in rows if not row.is_parent for sku in row.skus}
    if not by_sku:
        return
    levels = InventoryLevel.objects.filter(
        connection=connection, marketplace_id=marketplace_id, sku__in=list(by_sku)
    ).values_list("sku", "fba_enc", "mfn_quantity_enc")
    quantities: dict[int, list[int]] = {}
    code = keys.connection_code
    for sku, fba_enc, mfn_enc in levels:
        found = quantities.setdefault(id(by_sku[sku]), [])
        if fba_enc:
            aad = InventoryLevel.aad_for(code, marketplace_id, sku, "fba")
            value = keys.data.decrypt_json(bytes(fba_enc), aad=aad).get("fulfillable")
            if isinstance(value, int):
                found.append(value)
        if mfn_enc:
            aad = InventoryLevel.aad_for(code, marketplace_id, sku, "mfn_quantity")
            value = keys.data.decrypt_json(bytes(mfn_enc), aad=aad)
            if isinstance(value, int):
                found.append(value)
    for row in {id(r): r for r in by_sku.values()}.values():
        known = quantities.get(id(row), [])
        if not known:
            row.stock = StockState.UNKNOWN
        elif any(q > 0 for q in known):
            row.stock = StockState.IN_STOCK
        else:
            row.stock = StockState.OUT_OF_STOCK


def _fill_suppressed(keys: ConnectionKeys, rows: list[TableRow]) -> None:
    """Suppressed when a listing of the product carries an issue that hides it from
    shoppers (SEARCH_SUPPRESSED or LISTING_SUPPRESSED); None when no content is known."""
    wanted = {pk: row for row in rows if not row.is_parent for pk in row.listing_ids}
    if not wanted:
        return
    listings = Listing.objects.filter(pk__in=list(wanted)).exclude(content_enc=b"")
    for pk, code, content_enc in listings.values_list("pk", "code", "content_enc"):
        row = wanted[pk]
        if not content_enc:
            continue
        content = keys.data.decrypt_json(bytes(content_enc), aad=Listing(code=code).aad("content"))
        hidden = any(is_suppressing(i) for i in content.get("issues") or [] if isinstance(i, dict))
        row.suppressed = bool(row.suppressed) or hidden


# -- export ----------------------------------------------------------------------------


EXPORT_HEADER = (
    "ASIN",
    "SKUs",
    "Title",
    "Parent ASIN",
    "Sessions",
    "Page views",
    "Units ordered",
    "Ordered revenue",
    "Currency",
    "Conversion (%)",
    "Buy Box share (%)",
    "Previous conversion (%)",
    "Change in conversion (points)",
    "Pending days",
    "Tracking",
    "Stock",
    "Suppressed",
    "Changed in period",
)


def export_row(row: TableRow) -> list:
    """The numbers the page shows for `row`, in EXPORT_HEADER's order."""
    return [
        row.asin,
        " ".join(row.skus),
        row.title if not row.is_parent else f"Parent: sum of {row.children} products",
        row.parent_asin,
        row.sessions,
        row.page_views,
        row.units,
        row.revenue,
        row.currency,
        row.conversion_percent,
        row.buy_box_percent,
        row.previous_conversion_percent,
        row.conversion_change_points,
        row.pending_days,
        row.tracking_label if not row.is_parent else "",
        row.stock_label if not row.is_parent else "",
        {True: "yes", False: "no", None: ""}[row.suppressed] if not row.is_parent else "",
        "yes" if row.changed else "no",
    ]
