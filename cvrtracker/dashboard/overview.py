"""Reads of the dashboard home: an account's totals and their change, the daily chart,
the latest listing changes, the products whose conversion moved most, and how fresh
the data is. Everything takes a Scope (dashboard/scope.py), already resolved for
the user, and its Period.

Totals are sums over the account's days (one block a month): conversion is
units ÷ sessions of the settled days, Buy Box share is weighted by page views as
metrics does, never an average of daily percentages. Pending days (sales in,
traffic not yet) count their units and sales but no traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.changes import listing_change_payload
from cvrtracker.listings.history import ChangeView, change_views
from cvrtracker.listings.models import Listing
from cvrtracker.listings.selectors import (
    ChangeFilters,
    ChangeRow,
    listing_changes_query,
    listings_titles,
)
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.quick import QuickTotals, metrics_quick_totals
from cvrtracker.metrics.report import ZERO_DECIMAL_CURRENCIES, Money
from cvrtracker.metrics.selectors import (
    DayMetrics,
    ProductRow,
    metrics_account_series,
    metrics_window_totals,
)

from .cache import cached_encrypted, metric_blocks_stamp
from .scope import Period, Scope

# How many of the latest listing changes the overview lists.
RECENT_CHANGES = 8
# Movers: how many up and how many down, and the sessions a product needs in each
# period. With 100 sessions a 10% conversion rate is known to about ±6 points (95%),
# so smaller products would fill the list with noise.
MOVERS = 5
MOVER_MIN_SESSIONS = 100
# How long a computed comparison may be served; its key changes anyway with each sync.
MOVERS_CACHE_SECONDS = 6 * 3600
# How far back "traffic up to" and the pending days look, whatever the period.
FRESHNESS_DAYS = 40


@dataclass(frozen=True)
class Totals:
    """Sums over the fetched days of a window (settled days only for traffic)."""

    days: int = 0
    settled_days: int = 0
    pending_days: int = 0
    sessions: int = 0
    page_views: int = 0
    units: int = 0
    settled_units: int = 0
    sales_minor: int = 0
    buy_box_weight: float = 0.0  # Σ Buy Box % × page views, settled days

    @property
    def conversion(self) -> float | None:
        """Units ÷ sessions of the settled days, in percent; None without sessions."""
        return 100 * self.settled_units / self.sessions if self.sessions else None

    @property
    def buy_box(self) -> float | None:
        return self.buy_box_weight / self.page_views if self.page_views else None


def totals_of(days: list[DayMetrics]) -> Totals:
    settled = [d for d in days if not d.pending]
    return Totals(
        days=len(days),
        settled_days=len(settled),
        pending_days=len(days) - len(settled),
        sessions=sum(d.sessions or 0 for d in settled),
        page_views=sum(d.page_views or 0 for d in settled),
        units=sum(d.units_ordered for d in days),
        settled_units=sum(d.units_ordered for d in settled),
        sales_minor=sum(d.ordered_product_sales.amount_minor for d in days),
        buy_box_weight=sum((d.buy_box_percentage or 0.0) * (d.page_views or 0) for d in settled),
    )


@dataclass(frozen=True)
class Figure:
    """One key figure with its change against the previous period."""

    key: str
    label: str
    value: str  # as printed ("—" when unknown)
    # Relative % for counts, points for conversion and Buy Box; None: nothing to compare.
    change: float | None
    change_text: str  # "+12.3%", "−0.4 pts" or "—"
    direction: str  # "up", "down", "flat" or ""
    note: str = ""


def format_count(value: int) -> str:
    return f"{value:,}"


def format_money(amount_minor: int, currency: str) -> str:
    if currency.upper() in ZERO_DECIMAL_CURRENCIES:
        return f"{amount_minor:,} {currency}".strip()
    return f"{amount_minor / 100:,.2f} {currency}".strip()


def format_percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def _signed(value: float, unit: str) -> str:
    # A real minus sign: "−3.1%" reads as a negative number, "-3.1%" as a dash.
    text = f"{abs(value):.1f}{unit}"
    if text.startswith("0.0"):
        return f"±{text}"
    return f"+{text}" if value > 0 else f"−{text}"


def _direction(change: float | None) -> str:
    if change is None:
        return ""
    return "up" if change > 0.05 else ("down" if change < -0.05 else "flat")


def _relative(current: float, current_days: int, previous: float, previous_days: int):
    """Relative change in % of a per-day rate; None when the previous period has no data.

    Per day, so that a previous period only partly fetched (a backfill under way, or
    the plan's history) does not pass for a drop; with equal days it is the change
    of the sums."""
    if not current_days or not previous_days or not previous:
        return None
    return 100 * (current / current_days - previous / previous_days) / (previous / previous_days)


def _points(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None:
        return None
    return current - previous


def overview_figures(*, current: Totals, previous: Totals, currency: str) -> list[Figure]:
    """The six key figures of the period with their change against the previous one."""
    rows = [
        (
            "sessions",
            "Sessions",
            format_count(current.sessions) if current.settled_days else "—",
            _relative(
                current.sessions, current.settled_days, previous.sessions, previous.settled_days
            ),
            "%",
        ),
        (
            "page_views",
            "Page views",
            format_count(current.page_views) if current.settled_days else "—",
            _relative(
                current.page_views, current.settled_days, previous.page_views, previous.settled_days
            ),
            "%",
        ),
        (
            "units",
            "Units ordered",
            format_count(current.units),
            _relative(current.units, current.days, previous.units, previous.days),
            "%",
        ),
        (
            "revenue",
            "Ordered revenue",
            format_money(current.sales_minor, currency),
            _relative(current.sales_minor, current.days, previous.sales_minor, previous.days),
            "%",
        ),
        (
            "conversion",
            "Conversion (units ÷ sessions)",
            format_percent(current.conversion),
            _points(current.conversion, previous.conversion),
            " pts",
        ),
        (
            "buy_box",
            "Buy Box share",
            format_percent(current.buy_box),
            _points(current.buy_box, previous.buy_box),
            " pts",
        ),
    ]
    return [
        Figure(
            key=key,
            label=label,
            value=value,
            change=change,
            change_text="—" if change is None else _signed(change, unit),
            direction=_direction(change),
        )
        for key, label, value, change, unit in rows
    ]


@dataclass(frozen=True)
class Freshness:
    # The last day whose traffic is in; None when no settled day is stored yet.
    traffic_up_to: date | None
    # Recent days with sales reported and traffic not yet (never shown as zeros).
    pending_days: list[date]
    # The last day stored at all (sales may be newer than traffic).
    last_day_stored: date | None
    synced_at: datetime | None


@dataclass
class Overview:
    current: Totals
    previous: Totals
    figures: list[Figure]
    # The previous period as compared: clamped to the plan's history.
    previous_start: date
    previous_end: date
    # Calendar days of each period, to say when the data covers fewer.
    period_days: int
    previous_period_days: int
    chart: dict
    freshness: Freshness
    # The period's days, for the table alternative to the chart.
    days: list[DayMetrics] = field(default_factory=list)


def _chart_data(period: Period, days: list[DayMetrics]) -> dict:
    """The daily chart's arrays, one entry per calendar day of the period.

    A day not fetched is null everywhere (a gap); a pending day has its units and
    null traffic and conversion, and `pending` set so the chart shades it."""
    by_day = {d.day: d for d in days}
    out: dict[str, list] = {"day": [], "sessions": [], "units": [], "conversion": []}
    out["pending"] = []
    day = period.start
    while day <= period.end:
        d = by_day.get(day)
        out["day"].append(day.isoformat())
        out["units"].append(d.units_ordered if d else None)
        settled = d is not None and not d.pending
        out["sessions"].append(d.sessions if settled else None)
        rate = d.conversion_rate if settled else None
        out["conversion"].append(round(100 * rate, 3) if rate is not None else None)
        out["pending"].append(bool(d and d.pending))
        day += timedelta(days=1)
    return out


def overview_read(*, scope: Scope, period: Period) -> Overview:
    """The overview of the scope's account and marketplace over `period`.

    One read of the account series covers both periods and the freshness window.
    The previous period never reaches before the plan's history start."""
    assert scope.connection is not None and scope.last_day and scope.history_start
    previous_start = max(period.previous_start, scope.history_start)
    previous_end = period.previous_end
    fresh_start = scope.last_day - timedelta(days=FRESHNESS_DAYS - 1)
    first = min(previous_start, period.start, fresh_start)
    series = metrics_account_series(
        connection=scope.connection,
        marketplace_id=scope.marketplace_id,
        start=first,
        end=scope.last_day,
    )
    current_days = [d for d in series if period.start <= d.day <= period.end]
    previous_days = (
        [d for d in series if previous_start <= d.day <= previous_end]
        if previous_start <= previous_end
        else []
    )
    recent = [d for d in series if d.day >= fresh_start]
    settled = [d.day for d in series if not d.pending]
    current, previous = totals_of(current_days), totals_of(previous_days)
    return Overview(
        current=current,
        previous=previous,
        figures=overview_figures(current=current, previous=previous, currency=scope.currency),
        previous_start=previous_start,
        previous_end=previous_end,
        period_days=period.days,
        previous_period_days=max(0, (previous_end - previous_start).days + 1),
        chart=_chart_data(period, current_days),
        freshness=Freshness(
            traffic_up_to=max(settled) if settled else None,
            pending_days=[d.day for d in recent if d.pending],
            last_day_stored=series[-1].day if series else None,
            synced_at=scope.connection.sales_traffic_synced_at,
        ),
        days=current_days,
    )


@dataclass(frozen=True)
class DayRow:
    """One day of the chart's table alternative, as printed."""

    day: date
    label: str  # "Mon 2 Nov 2026": formatted here, a date filter per row costs 730 calls
    pending: bool
    sessions: str
    page_views: str
    units: str
    revenue: str
    conversion: str
    buy_box: str


def overview_day_rows(*, days: list[DayMetrics], currency: str) -> list[DayRow]:
    """The period's stored days, oldest first; a pending day's traffic reads "pending"."""
    rows = []
    for d in days:
        rate = d.conversion_rate
        rows.append(
            DayRow(
                day=d.day,
                label=f"{d.day:%a} {d.day.day} {d.day:%b %Y}",
                pending=d.pending,
                sessions="pending" if d.pending else format_count(d.sessions or 0),
                page_views="pending" if d.pending else format_count(d.page_views or 0),
                units=format_count(d.units_ordered),
                revenue=format_money(d.ordered_product_sales.amount_minor, currency),
                conversion="pending"
                if d.pending
                else format_percent(None if rate is None else 100 * rate),
                buy_box="pending" if d.pending else format_percent(d.buy_box_percentage),
            )
        )
    return rows


# Listing changes -------------------------------------------------------------------


def overview_recent_changes(*, scope: Scope, limit: int = RECENT_CHANGES) -> list[ChangeView]:
    """The latest changes of the scope's marketplace (within the plan's history)."""
    assert scope.connection is not None
    connection = scope.connection
    found = list(
        listing_changes_query(
            connection=connection, filters=ChangeFilters(start=scope.history_start)
        )
        .filter(marketplace_id=scope.marketplace_id)
        .select_related("listing")[:limit]
    )
    if not found:
        return []
    try:
        keys: ConnectionKeys | None = ConnectionKeys(connection)
    except DecryptionError:
        # The account's key was destroyed: the changes stay listed, their content unreadable.
        keys = None
    rows = [
        ChangeRow(
            change=change,
            payload=listing_change_payload(change=change, keys=keys) if keys else None,
        )
        for change in found
    ]
    markets = {m.id: m.name for m in scope.marketplaces}
    return change_views(rows=rows, marketplaces=markets)


# Movers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mover:
    asin: str
    title: str
    sessions: int
    previous_sessions: int
    conversion: float  # percent
    previous_conversion: float  # percent

    @property
    def change(self) -> float:
        """In percentage points."""
        return self.conversion - self.previous_conversion

    @property
    def change_text(self) -> str:
        return _signed(self.change, " pts")


@dataclass(frozen=True)
class Movers:
    up: list[Mover]
    down: list[Mover]
    # Products with enough sessions in both periods (those compared).
    compared: int
    min_sessions: int


def _movers_compute(
    scope: Scope, windows: list[tuple[date, date]], count: int
) -> dict[str, object]:
    """The comparison behind the movers, as plain JSON values (no titles)."""
    now, before = metrics_window_totals(
        connection=scope.connection, marketplace_id=scope.marketplace_id, windows=windows
    )
    asins, i, j = np.intersect1d(now.asins, before.asins, assume_unique=True, return_indices=True)
    enough = (now.sessions[i] >= MOVER_MIN_SESSIONS) & (before.sessions[j] >= MOVER_MIN_SESSIONS)
    asins, i, j = asins[enough], i[enough], j[enough]
    rate_now = 100 * now.conversion_rates()[i]
    rate_before = 100 * before.conversion_rates()[j]
    change = rate_now - rate_before
    # lexsort: the last key is the primary one; ASINs (sorted) break ties.
    order_up = [k for k in np.lexsort((asins, -change)) if change[k] > 0][:count]
    order_down = [k for k in np.lexsort((asins, change)) if change[k] < 0][:count]

    def mover(k: int) -> list:
        return [
            str(asins[k]),
            int(now.sessions[i[k]]),
            int(before.sessions[j[k]]),
            float(rate_now[k]),
            float(rate_before[k]),
        ]

    return {
        "up": [mover(k) for k in order_up],
        "down": [mover(k) for k in order_down],
        "compared": len(asins),
    }


def _movers_cached(scope: Scope, windows: list[tuple[date, date]], count: int) -> dict:
    """_movers_compute, kept in the cache until a sync rewrites a block of those months
    (dashboard/cache.py): both periods of 5,000 products are ~50 month blocks to read
    and decrypt, and the result changes only when the sync stores a day."""
    connection = scope.connection
    assert connection is not None
    first, last = min(w[0] for w in windows), max(w[1] for w in windows)
    stamp = metric_blocks_stamp(
        connection=connection, marketplace_id=scope.marketplace_id, start=first, end=last
    )
    spans = ",".join(f"{a}:{b}" for a, b in windows)
    return cached_encrypted(
        connection=connection,
        kind="dashboard.movers",
        name=f"{scope.marketplace_id}:{spans}:{count}:{MOVER_MIN_SESSIONS}:{stamp}",
        compute=lambda: _movers_compute(scope, windows, count),
        timeout=MOVERS_CACHE_SECONDS,
    )


def overview_movers(*, scope: Scope, period: Period, count: int = MOVERS) -> Movers:
    """The products whose conversion rose and fell most (percentage points) against
    the previous period, among those with MOVER_MIN_SESSIONS sessions in both.

    Both periods come from one pass over the month blocks, as arrays: a 5,000-product
    account is compared without building a row object per product."""
    assert scope.connection is not None and scope.history_start
    previous_start = max(period.previous_start, scope.history_start)
    if previous_start > period.previous_end:
        return Movers(up=[], down=[], compared=0, min_sessions=MOVER_MIN_SESSIONS)
    windows = [(period.start, period.end), (previous_start, period.previous_end)]
    found = _movers_cached(scope, windows, count)
    titles = _titles(scope, [m[0] for m in found["up"] + found["down"]])

    def mover(values: list) -> Mover:
        asin, sessions, previous_sessions, conversion, previous_conversion = values
        return Mover(
            asin=asin,
            title=titles.get(asin, ""),
            sessions=sessions,
            previous_sessions=previous_sessions,
            conversion=conversion,
            previous_conversion=previous_conversion,
        )

    return Movers(
        up=[mover(m) for m in found["up"]],
        down=[mover(m) for m in found["down"]],
        compared=found["compared"],
        min_sessions=MOVER_MIN_SESSIONS,
    )


def _titles(scope: Scope, asins: list[str]) -> dict[str, str]:
    if not asins:
        return {}
    listings = list(
        Listing.objects.filter(
            connection=scope.connection, marketplace_id=scope.marketplace_id, asin__in=asins
        ).order_by("asin", "sku")
    )
    titles = listings_titles(connection=scope.connection, listings=listings)
    out: dict[str, str] = {}
    for listing in listings:
        if titles.get(listing.pk):
            out.setdefault(listing.asin, titles[listing.pk])
    return out


@dataclass(frozen=True)
class Backfill:
    """The progress of the daily data's fetch (Settings → Amazon shows the same)."""

    history: dict[str, int]  # SellerConnection.history(): the two-year Data Kiosk queries
    recent: dict[str, int]  # SellerConnection.recent_days(): the recent days by report

    @property
    def running(self) -> bool:
        """True until both plans exist and are done: a new connection has neither yet."""
        return not self.history["total"] or any(
            p["done"] < p["total"] for p in (self.history, self.recent)
        )


def overview_backfill(*, scope: Scope) -> Backfill:
    assert scope.connection is not None
    return Backfill(history=scope.connection.history(), recent=scope.connection.recent_days())


# The first minute ------------------------------------------------------------------


@dataclass(frozen=True)
class QuickSummary:
    """The 30-day range totals of a just-connected account, before the daily data."""

    quick: QuickTotals
    products: int
    sessions: int
    units: int
    sales: str
    conversion: float | None  # percent, units ÷ sessions of the products' rows
    # The products with most units, with their conversion as printed.
    top: list[tuple[ProductRow, str]]


def overview_quick_totals(*, scope: Scope) -> QuickSummary | None:
    """metrics_quick_totals of the scope, summed over its products; None when absent."""
    assert scope.connection is not None
    quick = metrics_quick_totals(connection=scope.connection, marketplace_id=scope.marketplace_id)
    if quick is None or not quick.rows:
        return None
    sessions = sum(r.sessions for r in quick.rows)
    settled_units = sum(r.settled_units_ordered for r in quick.rows)
    sales = Money(sum(r.ordered_product_sales.amount_minor for r in quick.rows), quick.currency)
    return QuickSummary(
        quick=quick,
        products=len(quick.rows),
        sessions=sessions,
        units=sum(r.units_ordered for r in quick.rows),
        sales=format_money(sales.amount_minor, sales.currency),
        conversion=100 * settled_units / sessions if sessions else None,
        top=[
            (r, format_percent(None if r.conversion_rate is None else 100 * r.conversion_rate))
            for r in sorted(quick.rows, key=lambda r: (-r.units_ordered, r.asin))[:10]
        ],
    )
