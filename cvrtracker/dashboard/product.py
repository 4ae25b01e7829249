"""What the product page shows: one ASIN in one marketplace of one seller account.

`product_page_data` reads the product's daily series (one metric shard per month,
see metrics_product_series), its listings, its changes in the period with their
impact, and the bands (stock-outs, suppression, lost Buy Box) the chart shades.
Callers resolve the scope first (dashboard_scope_for_user): nothing here checks
who asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.http import Http404

from cvrtracker.amazon.identifiers import is_asin
from cvrtracker.amazon.images import image_src
from cvrtracker.impact.measured import change_is_measured
from cvrtracker.impact.selectors import impact_for_changes
from cvrtracker.impact.types import Impact
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.changes import listing_change_payload
from cvrtracker.listings.history import ChangeView, change_views
from cvrtracker.listings.models import Listing, ListingChange
from cvrtracker.listings.normalize import content_sides
from cvrtracker.listings.selectors import ChangeRow
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.report import ZERO_DECIMAL_CURRENCIES
from cvrtracker.metrics.selectors import conversion_rate, metrics_product_series

from .cache import cached_encrypted_many, metric_blocks_stamps_by_month
from .scope import Period, Scope

Field = ListingChange.Field
Source = ListingChange.Source

# How each kind of change is marked on the chart: a group (colour and shape, in
# product_chart.js and app.css) and a short text label, so colour is never the only cue.
MARKER_KINDS: dict[str, tuple[str, str]] = {
    Field.TITLE: ("text", "T"),
    Field.BULLET: ("text", "B"),
    Field.DESCRIPTION: ("text", "D"),
    Field.BRAND: ("text", "Br"),
    Field.PRODUCT_TYPE: ("text", "PT"),
    Field.MAIN_IMAGE: ("image", "M"),
    Field.IMAGE: ("image", "I"),
    Field.PRICE: ("price", "$"),
    Field.FBA_STOCK: ("stock", "S"),
    Field.MFN_STOCK: ("stock", "S"),
    Field.STOCK_OUT: ("stock", "S"),
    Field.BUY_BOX: ("buybox", "BB"),
    Field.STATUS: ("status", "!"),
    Field.ISSUE: ("status", "!"),
}
MARKER_GROUPS = {
    "text": "Text (title T, bullet B, description D)",
    "image": "Images (main M, other I)",
    "price": "Price ($)",
    "stock": "Stock (S)",
    "buybox": "Buy Box (BB)",
    "status": "Status or issue (!)",
}
BAND_LABELS = {
    "stock_out": "Out of stock",
    "suppressed": "Suppressed or not shown",
    "buy_box": "Buy Box lost",
}
MARKER_TEXT_MAX = 160


@dataclass(frozen=True)
class SeriesDay:
    """One fetched day as the chart, the table and the export show it. Traffic and
    conversion are None while pending (never zero)."""

    day: date
    sessions: int | None
    page_views: int | None
    units: int
    revenue: Decimal
    conversion: float | None
    buy_box: float | None
    pending: bool

    @property
    def conversion_pct(self) -> float | None:
        return None if self.conversion is None else 100 * self.conversion


@dataclass(frozen=True)
class KeyFigures:
    """Totals of the period: sums, never averages of daily rates. Sessions, Buy Box
    share and conversion cover settled days; units and revenue every day."""

    sessions: int
    units: int
    settled_units: int
    revenue: Decimal
    conversion: float | None
    buy_box: float | None
    days: int
    pending_days: int

    @property
    def conversion_pct(self) -> float | None:
        return None if self.conversion is None else 100 * self.conversion


@dataclass(frozen=True)
class Marker:
    code: str
    day: date
    field: str
    group: str
    short: str
    text: str  # "Field: before → after"


@dataclass(frozen=True)
class Band:
    kind: str
    label: str
    start: date
    end: date  # inclusive; the period's last day while still going on


@dataclass(frozen=True)
class ChangeItem:
    view: ChangeView
    day: date
    impact: Impact | None
    # "measured" (impact set), "not_computed" (measured kind, no row yet) or "not_measured".
    impact_state: str

    @property
    def lift_text(self) -> str:
        """The lift and its 95% interval as percentages, "" without an estimate."""
        i = self.impact
        if i is None or i.lift is None:
            return ""
        text = f"{100 * i.lift:+.1f}%"
        if i.lift_low is not None and i.lift_high is not None:
            text += f" (95% interval {100 * i.lift_low:+.1f}% to {100 * i.lift_high:+.1f}%)"
        return text


@dataclass(frozen=True)
class ProductPage:
    scope: Scope
    period: Period
    asin: str
    title: str
    image: str  # the main image's link, "" when none is known
    skus: list[str]
    status: str
    tracked: bool
    listings: list[Listing]
    series: list[SeriesDay]
    figures: KeyFigures
    markers: list[Marker]
    bands: list[Band]
    changes: list[ChangeItem]

    @property
    def currency(self) -> str:
        return self.scope.currency


def _major(minor: int, currency: str) -> Decimal:
    exponent = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    return Decimal(minor).scaleb(-exponent)


# A product's series is kept (encrypted) until a sync rewrites one of its blocks.
SERIES_CACHE_SECONDS = 6 * 3600


def _month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _series_compute(scope: Scope, asin: str, months: list[date]) -> dict[date, list[list]]:
    """The ASIN's fetched days of whole months as JSON rows: [day ordinal, sessions,
    page views, units, sales in minor units, currency, Buy Box %, pending]. One read
    from the first to the last month asked."""
    rows: dict[date, list[list]] = {month: [] for month in months}
    days = metrics_product_series(
        connection=scope.connection,
        asin=asin,
        start=min(months),
        end=_month_end(max(months)),
        marketplace_id=scope.marketplace_id,
    )
    for d in days:
        month = d.day.replace(day=1)
        if month in rows:
            sales = d.ordered_product_sales
            rows[month].append(
                [
                    d.day.toordinal(),
                    d.sessions,
                    d.page_views,
                    d.units_ordered,
                    sales.amount_minor,
                    sales.currency,
                    d.buy_box_percentage,
                    d.pending,
                ]
            )
    return rows


def _series_cached(scope: Scope, period: Period, asin: str) -> list[SeriesDay]:
    """The product's series over the period. Two years are 25 month blocks of the
    ASIN's shard, each decrypted whole for one row, so each month's rows are cached
    (dashboard/cache.py) under that month's block stamps: after a sync stores a day only
    its month is read again, and every range shares the months it covers."""
    connection = scope.connection
    assert connection is not None
    stamps = metric_blocks_stamps_by_month(
        connection=connection,
        marketplace_id=scope.marketplace_id,
        start=period.start,
        end=period.end,
        asin=asin,
    )
    months = cached_encrypted_many(
        connection=connection,
        kind="dashboard.product_series",
        names={
            month: f"{scope.marketplace_id}:{asin}:{month}:{stamp}"
            for month, stamp in stamps.items()
        },
        compute=lambda missing: _series_compute(scope, asin, missing),
        timeout=SERIES_CACHE_SECONDS,
    )
    first, last = period.start.toordinal(), period.end.toordinal()
    out = []
    for month in sorted(months):
        for ordinal, sessions, views, units, minor, currency, buy_box, pending in months[month]:
            if first <= ordinal <= last:
                out.append(
                    SeriesDay(
                        day=date.fromordinal(ordinal),
                        sessions=sessions,
                        page_views=views,
                        units=units,
                        revenue=_major(minor, currency),
                        conversion=None if pending else conversion_rate(units, sessions),
                        buy_box=buy_box,
                        pending=pending,
                    )
                )
    return out


def key_figures(series: list[SeriesDay]) -> KeyFigures:
    """The period's totals: conversion = Σ settled units ÷ Σ sessions; Buy Box share
    weighted by page views."""
    settled = [d for d in series if not d.pending]
    sessions = sum(d.sessions or 0 for d in settled)
    settled_units = sum(d.units for d in settled)
    views = sum(d.page_views or 0 for d in settled)
    box = sum((d.buy_box or 0.0) * (d.page_views or 0) for d in settled)
    return KeyFigures(
        sessions=sessions,
        units=sum(d.units for d in series),
        settled_units=settled_units,
        revenue=sum((d.revenue for d in series), Decimal(0)),
        conversion=settled_units / sessions if sessions else None,
        buy_box=box / views if views else None,
        days=len(series),
        pending_days=len(series) - len(settled),
    )


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MARKER_TEXT_MAX else text[: MARKER_TEXT_MAX - 1] + "…"


def marker_text(view: ChangeView, payload: dict[str, Any] | None) -> str:
    """ "Field: before → after" in plain text, for a marker's tooltip."""
    label = view.field_label + (f" {view.position}" if view.position else "")
    if view.kind == "unreadable":
        return f"{label}: content no longer readable"
    if view.kind == "image":
        before = view.before_image.name if view.before_image else "no image"
        after = view.after_image.name if view.after_image else "no image"
        return f"{label}: {before} → {after}"
    if view.kind == "diff":
        before, after = (payload or {}).get("before"), (payload or {}).get("after")
        before = _clip(before) if isinstance(before, str) and before else "none"
        after = _clip(after) if isinstance(after, str) and after else "none"
        return f"{label}: {before} → {after}"
    if view.kind == "note":
        return f"{label}: {view.action_label}. {view.note}".strip()
    pct = f" ({view.pct})" if view.pct else ""
    return f"{label}: {_clip(view.before)} → {_clip(view.after)}{pct}"


def _bands(
    changes: list[ListingChange], payloads: dict[int, dict | None], start: date, end: date
) -> list[Band]:
    """Intervals of the period the product was out of stock, suppressed or without the
    Buy Box, from the events (oldest first, from before the period too)."""
    open_at: dict[tuple[str, str], date] = {}
    spans: list[tuple[str, date, date]] = []

    def close(key: tuple[str, str], day: date) -> None:
        began = open_at.pop(key, None)
        if began is not None:
            spans.append((key[0], began, day - timedelta(days=1)))

    for change in changes:
        payload = payloads.get(change.pk) or {}
        action = payload.get("action")
        if change.field == Field.STOCK_OUT:
            key = ("stock_out", "")
            if action == "out_of_stock":
                open_at.setdefault(key, change.day)
            elif action == "back_in_stock":
                close(key, change.day)
        elif change.field == Field.BUY_BOX:
            key = ("buy_box", "")
            if action == "lost":
                open_at.setdefault(key, change.day)
            elif action == "won_back":
                close(key, change.day)
        elif change.field == Field.ISSUE and payload.get("suppresses"):
            issue = payload.get("after") or payload.get("before") or {}
            key = ("suppressed", str(issue.get("code", "")) if isinstance(issue, dict) else "")
            if action == "appeared":
                open_at.setdefault(key, change.day)
            elif action == "cleared":
                close(key, change.day)
        elif change.field == Field.STATUS:
            # Without DISCOVERABLE shoppers cannot find the listing at all.
            key = ("suppressed", "status")
            after = payload.get("after") or []
            if "DISCOVERABLE" not in after:
                open_at.setdefault(key, change.day)
            else:
                close(key, change.day)
    for key, began in open_at.items():
        spans.append((key[0], began, end))
    bands = []
    for kind, first, last in sorted(spans, key=lambda s: (s[1], s[0])):
        first, last = max(first, start), min(last, end)
        if first <= last:
            bands.append(Band(kind=kind, label=BAND_LABELS[kind], start=first, end=last))
    return bands


BAND_FIELDS = (Field.STOCK_OUT, Field.BUY_BOX, Field.ISSUE, Field.STATUS)


def product_changes_query(*, scope: Scope, asin: str, start: date, end: date):
    """The product's changes in the marketplace within [start, end], newest first."""
    return ListingChange.objects.filter(
        connection=scope.connection,
        marketplace_id=scope.marketplace_id,
        asin=asin,
        day__gte=start,
        day__lte=end,
    ).order_by("-day", "-seen_at", "-code")


def _listing_content(keys: ConnectionKeys | None, listing: Listing) -> dict:
    if keys is None or not listing.content_enc:
        return {}
    shown, _ = content_sides(
        keys.data.decrypt_json(bytes(listing.content_enc), aad=listing.aad("content"))
    )
    return shown or {}


def _title(keys: ConnectionKeys | None, listings: list[Listing], content: dict) -> str:
    if content.get("title"):
        return str(content["title"])
    for listing in listings:
        if keys is not None and listing.title_enc:
            return keys.data.decrypt_str(bytes(listing.title_enc), aad=listing.aad("title"))
    return ""


def _main_image(content: dict) -> str:
    for image in content.get("images") or []:
        if isinstance(image, dict) and image.get("variant") == "MAIN" and image.get("link"):
            return image_src(str(image["link"]))
    return ""


def product_page_data(*, scope: Scope, period: Period, asin: str) -> ProductPage:
    """Everything the product page shows for `asin` over `period`; Http404 for a
    malformed ASIN or one with neither metrics, listing nor change here."""
    if not is_asin(asin) or scope.connection is None:
        raise Http404("No such product")
    connection = scope.connection
    try:
        keys: ConnectionKeys | None = ConnectionKeys(connection)
    except DecryptionError:
        keys = None  # the account's key was destroyed: nothing of it is readable
    listings = list(
        Listing.objects.filter(
            connection=connection, marketplace_id=scope.marketplace_id, asin=asin
        ).order_by("sku")
    )
    series = _series_cached(scope, period, asin) if keys is not None else []
    # One read: the period's changes, and the band events from the plan's first day
    # (a stock-out that began before the period still shades its first days).
    earliest = min(scope.history_start or period.start, period.start)
    read = list(
        ListingChange.objects.filter(
            Q(day__gte=period.start) | Q(field__in=BAND_FIELDS),
            connection=connection,
            marketplace_id=scope.marketplace_id,
            asin=asin,
            day__gte=earliest,
            day__lte=period.end,
        )
        .select_related("listing")
        .order_by("-day", "-seen_at", "-code")
    )
    in_period = [c for c in read if c.day >= period.start]
    band_changes = [c for c in reversed(read) if c.field in BAND_FIELDS]
    has_metrics = any(d.units or d.sessions or d.page_views for d in series)
    if not listings and not has_metrics and not in_period:
        raise Http404("No such product in this marketplace")

    payloads: dict[int, dict | None] = {}
    for change in read:
        payloads[change.pk] = (
            listing_change_payload(change=change, keys=keys) if keys is not None else None
        )
    rows = [ChangeRow(change=c, payload=payloads[c.pk]) for c in in_period]
    views = change_views(rows=rows, marketplaces={scope.marketplace_id: scope.marketplace.name})
    impacts = (
        impact_for_changes(connection=connection, changes=in_period, keys=keys)
        if keys is not None
        else {}
    )
    changes, markers = [], []
    for change, view in zip(in_period, views, strict=True):
        impact = impacts.get(change.pk)
        if impact is not None:
            state = "measured"
        elif change_is_measured(change):
            state = "not_computed"
        else:
            state = "not_measured"
        changes.append(ChangeItem(view=view, day=change.day, impact=impact, impact_state=state))
        group, short = MARKER_KINDS.get(change.field, ("text", "?"))
        markers.append(
            Marker(
                code=view.code,
                day=change.day,
                field=change.field,
                group=group,
                short=short,
                text=marker_text(view, payloads[change.pk]),
            )
        )
    content = _listing_content(keys, listings[0]) if listings else {}
    statuses = {listing.get_status_display() for listing in listings}
    return ProductPage(
        scope=scope,
        period=period,
        asin=asin,
        title=_title(keys, listings, content),
        image=_main_image(content),
        skus=[listing.sku for listing in listings],
        status=", ".join(sorted(statuses)) if statuses else "Not listed here",
        tracked=any(listing.is_tracked for listing in listings),
        listings=listings,
        series=series,
        figures=key_figures(series),
        markers=markers[::-1],
        bands=_bands(band_changes, payloads, period.start, period.end),
        changes=changes,
    )


def chart_payload(page: ProductPage) -> dict[str, Any]:
    """The chart's data for json_script: one x per calendar day of the period (Unix
    seconds, UTC midnight), None where a day is pending or not fetched yet."""
    by_day = {d.day: d for d in page.series}
    xs, cvr, sessions, units, revenue = [], [], [], [], []
    day = page.period.start
    while day <= page.period.end:
        d = by_day.get(day)
        xs.append(int((day - date(1970, 1, 1)).total_seconds()))
        cvr.append(None if d is None or d.conversion is None else round(100 * d.conversion, 3))
        sessions.append(None if d is None else d.sessions)
        # Units and sales of a pending day are known (only traffic is late).
        units.append(None if d is None else d.units)
        revenue.append(None if d is None else float(d.revenue))
        day += timedelta(days=1)

    def stamp(value: date) -> int:
        return int((value - date(1970, 1, 1)).total_seconds())

    return {
        "x": xs,
        "conversion": cvr,
        "sessions": sessions,
        "units": units,
        "revenue": revenue,
        "currency": page.currency,
        "markers": [
            {
                "id": m.code,
                "x": stamp(m.day),
                "group": m.group,
                "short": m.short,
                "text": m.text,
            }
            for m in page.markers
        ],
        "bands": [
            {"kind": b.kind, "label": b.label, "from": stamp(b.start), "to": stamp(b.end)}
            for b in page.bands
        ],
    }
