"""The product page and the download of its daily series."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cvrtracker.audit.models import AuditEntry
from cvrtracker.dashboard.exports import FORMATS, export_response
from cvrtracker.dashboard.product import (
    BAND_LABELS,
    MARKER_GROUPS,
    chart_payload,
    product_page_data,
)
from cvrtracker.dashboard.scope import (
    PERIODS,
    InvalidPeriod,
    period_from_query,
    product_scope_for_user,
)
from cvrtracker.dashboard.services import dashboard_record_read
from cvrtracker.lib.collect import memory_bounded

SERIES_HEADER = (
    "Day",
    "Sessions",
    "Page views",
    "Units ordered",
    "Revenue",
    "Currency",
    "Conversion (%)",
    "Buy Box share (%)",
    "Pending",
)


@login_required
@require_GET
def product_page(request: HttpRequest, code, marketplace: str, asin: str) -> HttpResponse:
    scope = product_scope_for_user(
        user=request.user, account=str(code), marketplace=marketplace, asin=asin
    )
    try:
        period = period_from_query(scope, request.GET)
    except InvalidPeriod as error:
        return render(
            request,
            "dashboard/product.html",
            {"section": "dashboard", "scope": scope, "asin": asin, "error": str(error)},
            status=400,
        )
    page = product_page_data(scope=scope, period=period, asin=asin)
    dashboard_record_read(
        user=request.user,
        action=AuditEntry.Action.PRODUCT_READ,
        connection=scope.connection,
        request=request,
    )
    return render(
        request,
        "dashboard/product.html",
        {
            "section": "dashboard",
            "scope": scope,
            "asin": asin,
            "page": page,
            "period": period,
            "periods": PERIODS,
            "chart": chart_payload(page),
            "marker_groups": MARKER_GROUPS,
            "band_labels": BAND_LABELS,
            "range_query": request.GET.urlencode(),
        },
    )


def _cell(value):
    return "" if value is None else value


@login_required
@require_GET
def product_series_export(
    request: HttpRequest, code, marketplace: str, asin: str, fmt: str
) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404("Unknown format")
    scope = product_scope_for_user(
        user=request.user, account=str(code), marketplace=marketplace, asin=asin
    )
    try:
        period = period_from_query(scope, request.GET)
    except InvalidPeriod as error:
        return HttpResponse(str(error), status=400, content_type="text/plain")
    # The page's own numbers, read giving freed block buffers back as they go.
    with memory_bounded():
        page = product_page_data(scope=scope, period=period, asin=asin)
    dashboard_record_read(
        user=request.user,
        action=AuditEntry.Action.PRODUCT_EXPORTED,
        connection=scope.connection,
        request=request,
    )
    rows = (
        (
            d.day.isoformat(),
            _cell(d.sessions),
            _cell(d.page_views),
            d.units,
            d.revenue,
            page.currency,
            "" if d.conversion is None else round(100 * d.conversion, 2),
            _cell(d.buy_box),
            "pending" if d.pending else "",
        )
        for d in page.series
    )
    return export_response(
        fmt=fmt,
        filename=f"{asin}-{scope.marketplace.name}-{period.start}-{period.end}",
        header=SERIES_HEADER,
        rows=rows,
    )
