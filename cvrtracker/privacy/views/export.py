"""Settings → Privacy → Export your data: the panel (polled while a build runs), the
button that asks for an export, and the download."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cvrtracker.accounts import access
from cvrtracker.audit.services import audit_context_from_request
from cvrtracker.privacy.export import (
    ACTIVE,
    ExportAlreadyRunning,
    ExportUnavailable,
    data_export_download,
    data_export_is_downloadable,
    data_export_request,
    data_exports_for_user,
)


def _panel(request: HttpRequest, *, error: str = "") -> HttpResponse:
    exports = list(data_exports_for_user(user=request.user)[:10])
    context = {
        "exports": [(e, data_export_is_downloadable(e)) for e in exports],
        "active": next((e for e in exports if e.status in ACTIVE), None),
        "error": error,
        "link_days": settings.EXPORT_LINK_DAYS,
    }
    if request.headers.get("HX-Request"):
        return render(request, "privacy/_export_panel.html", context)
    # Without JavaScript the panel is a page of its own.
    return render(request, "privacy/export.html", {**context, "section": "privacy"})


@login_required
@require_GET
def panel(request: HttpRequest) -> HttpResponse:
    access.get_team_for_user(request.user)
    return _panel(request)


@login_required
@require_POST
def start(request: HttpRequest) -> HttpResponse:
    access.get_team_for_user(request.user)
    try:
        data_export_request(user=request.user, context=audit_context_from_request(request))
    except ExportAlreadyRunning as error:
        if request.headers.get("HX-Request"):
            return _panel(request, error=str(error))
        messages.error(request, str(error))
    if request.headers.get("HX-Request"):
        return _panel(request)
    return redirect("privacy:export_panel")


@login_required
@require_GET
def download(request: HttpRequest, code) -> HttpResponse:
    export = access.get_data_export_for_user(request.user, code)
    try:
        chunks = data_export_download(
            export=export, user=request.user, context=audit_context_from_request(request)
        )
    except ExportUnavailable:
        raise Http404("No such export") from None
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Length"] = str(export.size_bytes)
    name = f"cvrtracker-data-{export.created_at:%Y-%m-%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
