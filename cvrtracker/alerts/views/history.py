"""The alerts history: every alert of the team, newest first, with its deliveries.

Alerts hold Amazon data: every view of this page, or of one alert, is audited
(ALERTS_READ) before it is served.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cvrtracker.accounts.access import get_team_for_user
from cvrtracker.alerts.access import get_alert_for_user
from cvrtracker.alerts.forms import HistoryFilterForm
from cvrtracker.alerts.history import alert_product_exists, alert_views, alerts_record_read
from cvrtracker.alerts.models import Alert
from cvrtracker.alerts.selectors import alerts_page


def _page_query(kind: str, number: int) -> str:
    q = QueryDict(mutable=True)
    if kind:
        q["kind"] = kind
    q["page"] = str(number)
    return q.urlencode()


@login_required
@never_cache
@require_GET
def alerts_history(request: HttpRequest) -> HttpResponse:
    team = get_team_for_user(request.user)
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        ctx = {
            "section": "alerts_history",
            "form": form,
            "error": "Choose one of the kinds offered.",
        }
        return render(request, "alerts/history.html", ctx, status=400)
    kind = form.cleaned_data["kind"]
    page = alerts_page(team=team, kind=kind, page=request.GET.get("page") or 1)
    alerts_record_read(user=request.user, team=team, request=request)
    ctx = {
        "section": "alerts_history",
        "form": form,
        "page": page,
        "alerts": alert_views(page.object_list),
        "kind": kind,
        "previous_query": _page_query(kind, page.number - 1) if page.has_previous() else "",
        "next_query": _page_query(kind, page.number + 1) if page.has_next() else "",
        "has_any": kind != "" or page.paginator.count > 0,
    }
    return render(request, "alerts/history.html", ctx)


@login_required
@never_cache
@require_GET
def alert_detail(request: HttpRequest, code) -> HttpResponse:
    """The alert's product page at its day; the alert itself when there is no such page
    (a digest, or a product no longer listed)."""
    alert = get_alert_for_user(request.user, code)
    team = alert.team
    alerts_record_read(user=request.user, team=team, alert=alert, request=request)
    (view,) = alert_views(
        # nosemgrep: cvrt-unscoped-queryset-in-views (the alert get_alert_for_user returned)
        Alert.objects.filter(pk=alert.pk)
        .select_related("connection")
        .prefetch_related("deliveries__channel")
    )
    if view.product_url and alert_product_exists(alert, user=request.user):
        return redirect(view.product_url)
    view.product_url = ""
    return render(request, "alerts/alert.html", {"section": "alerts_history", "alert": view})
