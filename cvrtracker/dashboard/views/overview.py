"""The dashboard home: the chosen account's figures, chart, changes and movers."""

from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cvrtracker.audit.models import AuditEntry
from cvrtracker.dashboard import overview as selectors
from cvrtracker.dashboard.scope import (
    PERIODS,
    InvalidPeriod,
    dashboard_scope_for_user,
    period_from_query,
)
from cvrtracker.dashboard.services import dashboard_record_read

# The switcher's own fields; any other query parameter is carried along.
FORM_FIELDS = ("account", "marketplace", "period", "start", "end")
# The last days of a period may not be fetched yet even when the backfill is done.
QUICK_LAG_DAYS = 2
PERIOD_LABELS = {7: "7 days", 30: "30 days", 90: "90 days", 365: "365 days", 730: "2 years"}


@login_required
@require_GET
def overview(request):
    scope = dashboard_scope_for_user(
        user=request.user,
        account=request.GET.get("account"),
        marketplace=request.GET.get("marketplace"),
    )
    ctx = {"team": scope.team, "scope": scope}
    if scope.connection is None:
        return render(request, "dashboard/overview.html", ctx)
    if not scope.connection.wrapped_data_key:
        # The account's key was destroyed: nothing of it can be decrypted or shown.
        return render(request, "dashboard/overview.html", {**ctx, "unreadable": True})
    status = 200
    try:
        period = period_from_query(scope, request.GET)
    except InvalidPeriod as error:
        ctx["period_error"], status = str(error), 400
        period = period_from_query(scope, QueryDict())
    data = selectors.overview_read(scope=scope, period=period)
    backfill = selectors.overview_backfill(scope=scope)
    dashboard_record_read(
        user=request.user,
        action=AuditEntry.Action.OVERVIEW_READ,
        connection=scope.connection,
        request=request,
    )
    ctx.update(
        period=period,
        data=data,
        day_rows=selectors.overview_day_rows(days=data.days, currency=scope.currency),
        changes=selectors.overview_recent_changes(scope=scope),
        movers=selectors.overview_movers(scope=scope, period=period),
        backfill=backfill,
        quick=(
            selectors.overview_quick_totals(scope=scope)
            if backfill.running and data.current.days < period.days - QUICK_LAG_DAYS
            else None
        ),
        accounts=[(str(c.code), _account_label(c)) for c in scope.connections],
        periods=[(str(days), PERIOD_LABELS[days]) for days in PERIODS],
        kept=[(k, v) for k, values in request.GET.lists() if k not in FORM_FIELDS for v in values],
        period_query=_period_query(period),
    )
    return render(request, "dashboard/overview.html", ctx, status=status)


def _account_label(connection) -> str:
    # A disconnected account's key may be destroyed: its store name is unreadable.
    name = connection.store_name if connection.is_active else ""
    return f"{name or connection.selling_partner_id} ({connection.get_region_display()})"


def _period_query(period) -> str:
    """The period part of a link to another dashboard page."""
    q = QueryDict(mutable=True)
    q["period"] = period.key
    if period.key == "custom":
        q["start"], q["end"] = period.start.isoformat(), period.end.isoformat()
    return q.urlencode()
