import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from cvrtracker.amazon.authorization import operator_alarms_active
from cvrtracker.front.health import task_queue_check
from cvrtracker.privacy.policy import policy_terms

log = logging.getLogger(__name__)


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "front/index.html")


def privacy(request: HttpRequest) -> HttpResponse:
    # Every period on the page comes from the settings the retention rules enforce.
    return render(request, "front/privacy.html", {"terms": policy_terms()})


@login_required
def settings_index(request: HttpRequest) -> HttpResponse:
    return redirect("accounts:profile")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: is the database reachable, is the task queue?"""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy; the log has the detail
        log.exception("healthz: database check failed")
        checks["database"] = "error"
    checks["task_queue"] = task_queue_check()
    ok = all(value == "ok" for value in checks.values())
    body: dict = {"status": "ok" if ok else "error", "checks": checks}
    # Problems only the operator can fix (e.g. LWA refusing our client secret): listed
    # for monitoring, but they leave the status alone, since taking this instance out
    # of the load balancer would fix nothing.
    if checks["database"] == "ok":
        alerts = operator_alarms_active()
        if alerts:
            body["alerts"] = alerts
    return JsonResponse(body, status=200 if ok else 503)
