"""The public rights and support forms, and the user's own rights requests."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from cvrtracker.audit.services import audit_context_from_request
from cvrtracker.privacy import requests as services
from cvrtracker.privacy.forms import RightsRequestForm, SupportRequestForm

THANKS = {
    "rights": "Thank you: your request is recorded and a confirmation is on its way to the "
    "address you gave. We answer within {days} days.",
    "support": "Thank you: your message is recorded and a confirmation is on its way to the "
    "address you gave.",
}
TOO_MANY = (
    "Too many messages came from your network in the last hour. Nothing was sent: "
    "please try again later, or write to {email}."
)


def _initial(request: HttpRequest) -> dict:
    user = request.user
    return {"name": user.name, "email": user.email} if user.is_authenticated else {}


def _user(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


def _context(form) -> dict:
    return {"form": form, "due_days": settings.RIGHTS_REQUEST_DUE_DAYS}


def _throttled(request: HttpRequest, form, template: str) -> HttpResponse | None:
    """A 429 with the form as sent when this IP address is over its hourly limit."""
    try:
        services.public_form_throttle(ip=audit_context_from_request(request).ip)
    except services.TooManyRequests:
        form.add_error(None, TOO_MANY.format(email=settings.SUPPORT_EMAIL))
        return render(request, template, _context(form), status=429)
    return None


def rights(request: HttpRequest) -> HttpResponse:
    template = "privacy/rights.html"
    form = RightsRequestForm(request.POST or None, initial=_initial(request))
    if request.method == "POST" and form.is_valid():
        if refused := _throttled(request, form, template):
            return refused
        if not form.is_bot():
            data = form.cleaned_data
            services.rights_request_create(
                kind=data["kind"],
                name=data["name"],
                email=data["email"],
                california_resident=data["california_resident"],
                details=data["details"],
                user=_user(request),
                context=audit_context_from_request(request),
            )
        # The same answer to a bot, which learns nothing from it.
        messages.success(request, THANKS["rights"].format(days=settings.RIGHTS_REQUEST_DUE_DAYS))
        return redirect("privacy:rights")
    status = 400 if form.is_bound else 200
    return render(request, template, _context(form), status=status)


def support(request: HttpRequest) -> HttpResponse:
    template = "privacy/support.html"
    form = SupportRequestForm(request.POST or None, initial=_initial(request))
    if request.method == "POST" and form.is_valid():
        if refused := _throttled(request, form, template):
            return refused
        if not form.is_bot():
            data = form.cleaned_data
            services.support_request_create(
                name=data["name"],
                email=data["email"],
                subject=data["subject"],
                message=data["message"],
                user=_user(request),
            )
        messages.success(request, THANKS["support"])
        return redirect("privacy:support")
    status = 400 if form.is_bound else 200
    return render(request, template, _context(form), status=status)


@login_required
@require_GET
def requests_panel(request: HttpRequest) -> HttpResponse:
    requests = services.rights_requests_for_user(user=request.user)
    return render(request, "privacy/_requests_panel.html", {"rights_requests": requests})
