"""Downloads of the change history with each change's impact: a seller account's
changes and one product's (the history pages' filters), and the product page's.

They live here rather than in listings because they carry the impact, and
listings must not import impact. Rows are read with `.iterator()` and decrypted
a chunk at a time, so a 50,000-change export holds one chunk in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from cvrtracker.accounts.access import get_connection_for_user, get_listing_for_user
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.limits import history_start_for_team
from cvrtracker.dashboard.exports import FORMATS, export_response
from cvrtracker.dashboard.product import product_changes_query
from cvrtracker.dashboard.scope import InvalidPeriod, period_from_query, product_scope_for_user
from cvrtracker.dashboard.services import dashboard_record_read
from cvrtracker.impact.selectors import impact_for_changes
from cvrtracker.lib import clock
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.changes import listing_change_payload
from cvrtracker.listings.forms import ChangeFiltersForm
from cvrtracker.listings.history import ChangeView, change_views
from cvrtracker.listings.models import Listing
from cvrtracker.listings.selectors import ChangeRow, listing_changes_query
from cvrtracker.metrics.keys import ConnectionKeys

# A change read with its listing, payload, view and impact holds ~10 KB: 200 a chunk
# keep a chunk near 2 MB (500 added ~6 MB to the process's peak), for 2 queries each.
CHUNK = 200
HEADER = (
    "Day",
    "Marketplace",
    "ASIN",
    "SKU",
    "Field",
    "Position",
    "Action",
    "Before",
    "After",
    "Change (%)",
    "Source",
    "Impact verdict",
    "Impact final",
    "Lift (%)",
    "Lift 95% low (%)",
    "Lift 95% high (%)",
)


def _text(view: ChangeView, payload: dict[str, Any] | None, side: str) -> str:
    """The before or after value as plain text: whole texts and image links."""
    if payload is None:
        return ""
    if view.kind == "diff":
        value = payload.get(side)
        return value if isinstance(value, str) else ""
    if view.kind == "image":
        image = view.before_image if side == "before" else view.after_image
        return image.link if image else ""
    if view.kind == "note":
        return view.note if side == "after" else ""
    return view.before if side == "before" else view.after


def _pct(value: float | None) -> Any:
    return "" if value is None else round(100 * value, 2)


def change_rows(*, connection: SellerConnection, changes, marketplaces: dict[str, str]) -> Iterator:
    """Export rows for a queryset of `connection`'s changes, a chunk at a time."""
    try:
        keys: ConnectionKeys | None = ConnectionKeys(connection)
    except DecryptionError:
        keys = None
    iterator = changes.select_related("listing").iterator(chunk_size=CHUNK)
    while chunk := list(islice(iterator, CHUNK)):
        rows = [
            ChangeRow(
                change=c, payload=listing_change_payload(change=c, keys=keys) if keys else None
            )
            for c in chunk
        ]
        views = change_views(rows=rows, marketplaces=marketplaces, diffs=False)
        impacts = (
            impact_for_changes(connection=connection, changes=chunk, keys=keys) if keys else {}
        )
        for row, view in zip(rows, views, strict=True):
            change, impact = row.change, impacts.get(row.change.pk)
            yield (
                change.day.isoformat(),
                view.marketplace,
                change.asin,
                change.sku,
                view.field_label,
                change.position or "",
                view.action_label,
                _text(view, row.payload, "before"),
                _text(view, row.payload, "after"),
                view.pct,
                view.source_label,
                impact.verdict_label if impact else "",
                ("yes" if impact.final else "so far") if impact else "",
                _pct(impact.lift) if impact else "",
                _pct(impact.lift_low) if impact else "",
                _pct(impact.lift_high) if impact else "",
            )


def _respond(request, connection, changes, fmt: str, filename: str) -> HttpResponse:
    dashboard_record_read(
        user=request.user,
        action=AuditEntry.Action.CHANGES_EXPORTED,
        connection=connection,
        request=request,
    )
    markets = {m.get("id"): m.get("name") or m.get("id") for m in connection.marketplaces}
    rows = change_rows(connection=connection, changes=changes, marketplaces=markets)
    return export_response(fmt=fmt, filename=filename, header=HEADER, rows=rows)


def _history_export(
    request: HttpRequest, connection: SellerConnection, fmt: str, listing: Listing | None
) -> HttpResponse:
    """The changes a history page shows with the same filters (every page of them)."""
    if fmt not in FORMATS:
        raise Http404("Unknown format")
    form = ChangeFiltersForm(request.GET, connection=connection)
    if not form.is_valid():
        return HttpResponse(form.error_text(), status=400, content_type="text/plain")
    history_start = history_start_for_team(connection.team, today=clock.today())
    filters = form.filters(product=listing, earliest=history_start)
    changes = listing_changes_query(connection=connection, filters=filters)
    name = f"changes-{listing.asin or listing.sku}" if listing else "changes"
    return _respond(request, connection, changes, fmt, name)


@login_required
@require_GET
def account_changes_export(request: HttpRequest, code, fmt: str) -> HttpResponse:
    return _history_export(request, get_connection_for_user(request.user, code), fmt, None)


@login_required
@require_GET
def listing_changes_export(request: HttpRequest, code, fmt: str) -> HttpResponse:
    listing = get_listing_for_user(request.user, code)
    return _history_export(request, listing.connection, fmt, listing)


@login_required
@require_GET
def product_changes_export(
    request: HttpRequest, code, marketplace: str, asin: str, fmt: str
) -> HttpResponse:
    """The changes the product page lists for its range, newest first."""
    if fmt not in FORMATS:
        raise Http404("No such export")
    scope = product_scope_for_user(
        user=request.user, account=str(code), marketplace=marketplace, asin=asin
    )
    try:
        period = period_from_query(scope, request.GET)
    except InvalidPeriod as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    changes = product_changes_query(scope=scope, asin=asin, start=period.start, end=period.end)
    name = f"changes-{asin}-{scope.marketplace.name}-{period.start}-{period.end}"
    return _respond(request, scope.connection, changes, fmt, name)
