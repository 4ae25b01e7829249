"""Staff pages: the rights and support requests to answer (privacy/staff.py opens them)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from cvrtracker.privacy import requests as services
from cvrtracker.privacy.forms import AnswerForm
from cvrtracker.privacy.models import RightsRequest, SupportRequest
from cvrtracker.privacy.staff import staff_only


@staff_only
def staff_requests(request: HttpRequest) -> HttpResponse:
    rights, support = services.requests_for_staff()
    context = {"rights_requests": rights, "support_requests": support, "now": timezone.now()}
    return render(request, "privacy/staff_requests.html", context)


@staff_only
def staff_request(request: HttpRequest, code) -> HttpResponse:
    item = get_object_or_404(RightsRequest, code=code)
    return _answer(request, item, kind="rights")


@staff_only
def staff_support(request: HttpRequest, code) -> HttpResponse:
    item = get_object_or_404(SupportRequest, code=code)
    return _answer(request, item, kind="support")


def _answer(request: HttpRequest, item, *, kind: str) -> HttpResponse:
    form = AnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.request_answer(
            item=item,
            answer=form.cleaned_data["answer"],
            status=form.cleaned_data["status"],
            actor=request.user,
        )
        messages.success(request, f"Your answer was emailed to {item.email}.")
        return redirect("privacy:staff_requests")
    context = {"item": item, "kind": kind, "form": form, "now": timezone.now()}
    status = 400 if form.is_bound else 200
    return render(request, "privacy/staff_request.html", context, status=status)
