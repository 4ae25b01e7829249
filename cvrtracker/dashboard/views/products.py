"""The product table (/dashboard/products/) and its CSV/XLSX export."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.limits import plan_limits_for_team
from cvrtracker.dashboard.exports import FORMATS, export_response
from cvrtracker.dashboard.scope import (
    PERIODS,
    InvalidPeriod,
    dashboard_scope_for_user,
    period_from_query,
)
from cvrtracker.dashboard.services import dashboard_record_read
from cvrtracker.dashboard.sparkline import sparkline
from cvrtracker.dashboard.table import (
    EXPORT_HEADER,
    SHOW_TRACKED,
    export_row,
    product_table_page,
    product_table_rows,
    table_params_from_query,
)
from cvrtracker.lib.collect import gc_paused
from cvrtracker.listings.selectors import listings_tracked_count

# (sort key, header) of the sortable columns, in the table's order.
COLUMNS = (
    ("sessions", "Sessions"),
    ("page_views", "Page views"),
    ("units", "Units"),
    ("revenue", "Revenue"),
    ("conversion", "Conversion"),
    ("previous_conversion", "Previous"),
    ("conversion_change", "Change"),
    ("buy_box", "Buy Box"),
)
# Text sorts A→Z first; numbers largest first.
ASCENDING_FIRST = {"asin"}


def _scope_and_period(request: HttpRequest):
    scope = dashboard_scope_for_user(
        user=request.user,
        account=request.GET.get("account"),
        marketplace=request.GET.get("marketplace"),
    )
    if scope.connection is None or not scope.marketplace_id:
        return scope, None, ""
    try:
        return scope, period_from_query(scope, request.GET), ""
    except InvalidPeriod as error:
        return scope, period_from_query(scope, QueryDict()), str(error)


def _query(request: HttpRequest, **changes: str) -> str:
    """The current query string with `changes` (an empty value removes the parameter)."""
    query = request.GET.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value:
            query[name] = value
    return query.urlencode()


def _sort_links(request: HttpRequest, sort: str) -> list[dict]:
    key, descending = sort.lstrip("-"), sort.startswith("-")
    links = []
    for name, label in (("asin", "Product"), *COLUMNS):
        if name == key:
            next_sort = name if descending else f"-{name}"
            aria = "descending" if descending else "ascending"
        else:
            next_sort = name if name in ASCENDING_FIRST else f"-{name}"
            aria = ""
        links.append(
            {
                "key": name,
                "label": label,
                "aria": aria,
                "href": _query(request, sort=next_sort, page=""),
            }
        )
    return links


def _cells(row) -> dict[str, str]:
    """The row's numbers as the page prints them (the export writes the same values)."""

    def percent(value, places: int) -> str:
        return "—" if value is None else f"{value:.{places}f}%"

    change = row.conversion_change_points
    return {
        "sessions": str(row.sessions),
        "page_views": str(row.page_views),
        "units": str(row.units),
        "revenue": str(row.revenue),
        "conversion": percent(row.conversion_percent, 2),
        "previous_conversion": percent(row.previous_conversion_percent, 2),
        "conversion_change": "—" if change is None else f"{change + 0.0:+.2f} pts",
        "change_class": "up" if change and change > 0 else ("down" if change else ""),
        "buy_box": percent(row.buy_box_percent, 1),
    }


def _page_numbers(page: int, pages: int) -> list[int | None]:
    """First, last and the pages around the current one; None marks a gap."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int | None] = []
    for number in wanted:
        if out and number - (out[-1] or 0) > 1:
            out.append(None)
        out.append(number)
    return out


@login_required
@require_safe
@gc_paused()
def product_table(request: HttpRequest) -> HttpResponse:
    scope, period, error = _scope_and_period(request)
    ctx = {"scope": scope, "period": period, "error": error}
    if period is None:
        return render(request, "dashboard/products.html", ctx)
    params = table_params_from_query(request.GET)
    page = product_table_page(scope=scope, period=period, params=params)
    code, market = scope.connection.code, scope.marketplace_id
    for row in page.rows:
        row.sparkline = sparkline(row.trend)
        row.cells = _cells(row)
        if row.asin and not row.is_parent:
            row.url = reverse("dashboard:product", args=[code, market, row.asin])
    dashboard_record_read(
        user=request.user,
        action=AuditEntry.Action.PRODUCTS_READ,
        connection=scope.connection,
        request=request,
    )
    ctx.update(
        params=params,
        page=page,
        columns=_sort_links(request, params.sort),
        page_links=[
            (n, _query(request, page=str(n)) if n else "")
            for n in _page_numbers(page.page, page.pages)
        ],
        previous_href=_query(request, page=str(page.page - 1)),
        next_href=_query(request, page=str(page.page + 1)),
        export_query=_query(request, page=""),
        periods=PERIODS,
        plan=plan_limits_for_team(scope.team),
        tracked_count=(
            listings_tracked_count(team=scope.team) if params.show == SHOW_TRACKED else None
        ),
        products_url=reverse("dashboard:products"),
    )
    # htmx swaps the table alone; restoring a page from its history needs the whole page.
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    template = "dashboard/_products_table.html" if partial else "dashboard/products.html"
    response = render(request, template, ctx)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_safe
def product_table_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404("No such format")
    scope, period, _ = _scope_and_period(request)
    if period is None:
        raise Http404("No seller account to export")
    params = table_params_from_query(request.GET)
    rows = product_table_rows(scope=scope, period=period, params=params, trend=False)
    dashboard_record_read(
        user=request.user,
        action=AuditEntry.Action.PRODUCTS_EXPORTED,
        connection=scope.connection,
        request=request,
    )
    market = scope.marketplace.name if scope.marketplace else scope.marketplace_id
    return export_response(
        fmt=fmt,
        filename=f"products-{market}-{period.start}-{period.end}",
        header=EXPORT_HEADER,
        rows=(export_row(row) for row in rows),
    )
