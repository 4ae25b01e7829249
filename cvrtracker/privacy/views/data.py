"""Settings → Privacy: one page, its sections loaded from their own views (htmx),
so that each part of the privacy app renders its own section."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def page(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/data.html", {"section": "privacy"})
