import logging
import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.csp import CSP, build_policy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from cvrtracker.accounts.access import (
    get_membership_for_user,
    get_owned_team_for_user,
    get_team_for_user,
)
from cvrtracker.billing import plans, services
from cvrtracker.billing import stripe as stripe_api
from cvrtracker.billing.access import get_billing_record_for_user
from cvrtracker.billing.forms import CheckoutForm
from cvrtracker.billing.models import BillingRecord
from cvrtracker.billing.stripe import BillingError, SignatureError

log = logging.getLogger(__name__)


def _allow_stripe_forms(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    # Browsers hold a form's redirect to the submitting page's form-action, and the
    # Upgrade and Manage buttons end at Checkout or the Portal.
    config = dict(settings.SECURE_CSP)
    config["form-action"] = [CSP.SELF, *settings.STRIPE_REDIRECT_ORIGINS]
    response.headers[str(CSP.HEADER_ENFORCE)] = build_policy(
        config, getattr(request, "_csp_nonce", None)
    )
    return response


@login_required
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    membership = get_membership_for_user(request.user)
    team = membership.team
    ctx = {
        "section": "billing",
        "team": team,
        "sub": services.subscription_for_team(team=team),
        "is_owner": membership.is_owner,
        "configured": stripe_api.billing_configured(),
        "plans": plans.PAID_PLANS,
        "nonce": secrets.token_hex(16),
        "records": BillingRecord.objects.filter(team=team),
        "grace_days": settings.BILLING_GRACE_DAYS,
    }
    return _allow_stripe_forms(request, render(request, "billing/page.html", ctx))


@login_required
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    team = get_owned_team_for_user(request.user)
    form = CheckoutForm(request.POST)
    if not stripe_api.billing_configured() or not form.is_valid():
        messages.error(request, "Billing is not available on this server.")
        return redirect("billing:page")
    try:
        url = services.checkout_start(
            team=team,
            user=request.user,
            plan=plans.plan_get(form.cleaned_data["plan"]),
            base_url=request.build_absolute_uri("/").rstrip("/"),
            nonce=form.cleaned_data["nonce"],
        )
    except BillingError as e:
        messages.error(request, e.message)
        return redirect("billing:page")
    return HttpResponseRedirect(url, status=303)


@login_required
@require_GET
def checkout_return(request: HttpRequest) -> HttpResponse:
    # Coming back proves nothing: the plan changes when Stripe's webhook arrives.
    team = get_team_for_user(request.user)
    sub = services.subscription_for_team(team=team)
    return render(request, "billing/return.html", {"team": team, "sub": sub})


@login_required
@require_GET
@never_cache
def status(request: HttpRequest) -> JsonResponse:
    sub = services.subscription_for_team(team=get_team_for_user(request.user))
    return JsonResponse(
        {"phase": sub.phase(), "plan": sub.effective_plan().key, "on_stripe": sub.on_stripe}
    )


@login_required
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    team = get_owned_team_for_user(request.user)
    try:
        url = services.portal_start(
            team=team, return_url=request.build_absolute_uri(reverse("billing:page"))
        )
    except BillingError as e:
        messages.error(request, e.message)
        return redirect("billing:page")
    return HttpResponseRedirect(url, status=303)


@login_required
@require_GET
def invoice(request: HttpRequest, code) -> HttpResponse:
    record = get_billing_record_for_user(request.user, code)
    return render(request, "billing/invoice.html", {"record": record, "team": record.team})


@csrf_exempt
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = stripe_api.event_verify(
            payload=request.body, signature=request.headers.get("Stripe-Signature")
        )
    except SignatureError as e:
        log.warning("stripe webhook refused: %s", e)
        return HttpResponse("invalid signature", status=400, content_type="text/plain")
    try:
        services.subscription_apply_event(event=event)
    except BillingError:
        # Nothing was saved; Stripe redelivers for up to three days.
        return HttpResponse("try again later", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
