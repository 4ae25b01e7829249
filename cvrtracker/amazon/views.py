"""Settings → Amazon, and the OAuth connect flow (like Healthchecks' Slack integration).

`connect` stores a random state in the session and sends the seller to Amazon's
consent page; `connect_complete` (the registered redirect URI) pops and
compares it before anything is exchanged or stored.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from cvrtracker.accounts.access import (
    get_connections_for_user,
    get_membership_for_user,
    get_owned_connection_for_user,
    get_owned_team_for_user,
)
from cvrtracker.amazon import client
from cvrtracker.amazon.client import AmazonError
from cvrtracker.amazon.models import Region, SellerConnection
from cvrtracker.amazon.services import (
    SellerAlreadyConnected,
    connection_authorize,
    connection_disconnect,
)
from cvrtracker.billing.limits import CONNECT_SELLER_ACCOUNT, team_can

SESSION_KEY = "amazon_connect"
# Amazon's authorization code lives 5 minutes; the seller may take a while to sign in.
STATE_MAX_AGE = 30 * 60
UNVERIFIED = "Confirm your email address before connecting an Amazon seller account."


@login_required
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    membership = get_membership_for_user(request.user)
    ctx = {
        "section": "amazon",
        "membership": membership,
        "connections": get_connections_for_user(request.user),
        "regions": Region.choices,
    }
    return render(request, "amazon/settings.html", ctx)


def _plan_refusal(team, *, selling_partner_id: str = "") -> str:
    """Why the team's plan forbids one more seller account, or "" if it allows it.

    Reconnecting a seller the team already has is never refused: it adds nothing.
    """
    held = team.seller_connections.exclude(status=SellerConnection.Status.DISCONNECTED)
    if selling_partner_id and held.filter(selling_partner_id=selling_partner_id).exists():
        return ""
    decision = team_can(team, CONNECT_SELLER_ACCOUNT, current=held.count())
    return "" if decision else decision.message


def _start(request: HttpRequest, region: str) -> str:
    """A fresh state bound to this session, the user's team and the region."""
    team = get_owned_team_for_user(request.user)
    state = secrets.token_urlsafe(32)
    request.session[SESSION_KEY] = {
        "state": state,
        "region": region,
        "team": str(team.code),
        "at": time.time(),
    }
    return state


@login_required
@require_GET
def connect(request: HttpRequest, region: str) -> HttpResponse:
    team = get_owned_team_for_user(request.user)
    if region not in Region.values:
        raise Http404("No such region")
    if not request.user.email_verified:
        messages.error(request, UNVERIFIED)
        return redirect("amazon:settings")
    refusal = _plan_refusal(team)
    if refusal:
        messages.error(request, refusal)
        return redirect("billing:page")
    state = _start(request, region)
    response = redirect(client.consent_url(region=region, state=state))
    response["Referrer-Policy"] = "no-referrer"
    return response


def _failed(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    response = render(
        request,
        "amazon/connect_failed.html",
        {"section": "amazon", "message": message},
        status=status,
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_GET
@never_cache
def login_hop(request: HttpRequest) -> HttpResponse:
    """The log-in URI: Amazon sends the seller here first; we send them back with our state."""
    get_owned_team_for_user(request.user)
    callback = request.GET.get("amazon_callback_uri", "")
    amazon_state = request.GET.get("amazon_state", "")
    # Only back to the Seller Central we are configured for: never an open redirect.
    origin = urlsplit(callback)
    region = next(
        (
            region
            for region, base in settings.AMAZON_CONSENT_URLS.items()
            if origin.scheme == "https" and f"https://{origin.netloc}" == base.rstrip("/")
        ),
        None,
    )
    if region is None or not amazon_state:
        return _failed(request, "This link to connect an Amazon account is not valid.")
    if not request.user.email_verified:
        return _failed(request, UNVERIFIED)
    params = {
        "amazon_state": amazon_state,
        "state": _start(request, region),
        "redirect_uri": settings.AMAZON_REDIRECT_URI,
    }
    if settings.AMAZON_APP_IS_DRAFT:
        params["version"] = "beta"
    response = redirect(callback + ("&" if "?" in callback else "?") + urlencode(params))
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_GET
@never_cache
def connect_complete(request: HttpRequest) -> HttpResponse:
    """The redirect URI: check state, then exchange the code and store the grant."""
    # Popped whatever happens next: a state works once.
    pending = request.session.pop(SESSION_KEY, None)
    state = request.GET.get("state", "")
    team = get_owned_team_for_user(request.user)
    if (
        not pending
        or not state
        or not secrets.compare_digest(state, pending["state"])
        or pending["team"] != str(team.code)
        or time.time() - pending["at"] > STATE_MAX_AGE
    ):
        return _failed(
            request,
            "This sign-in with Amazon does not match the one you started here, or it is "
            "too old. Nothing was connected; start again from Settings → Amazon.",
        )
    code = request.GET.get("spapi_oauth_code", "")
    seller_id = request.GET.get("selling_partner_id", "")
    if not code or not seller_id:
        return _failed(request, "Amazon did not authorize the connection. Nothing was connected.")
    if not request.user.email_verified:
        return _failed(request, UNVERIFIED)
    refusal = _plan_refusal(team, selling_partner_id=seller_id)
    if refusal:
        return _failed(request, f"{refusal} Nothing was connected.", status=402)
    try:
        connection = connection_authorize(
            team=team,
            user=request.user,
            region=pending["region"],
            selling_partner_id=seller_id,
            code=code,
        )
    except SellerAlreadyConnected:
        return _failed(
            request,
            "This Amazon seller account is already connected to another team on CVR "
            "Tracker. Ask that team's owner to disconnect it first.",
        )
    except AmazonError:
        return _failed(
            request,
            "Amazon did not confirm the authorization (it may have taken more than five "
            "minutes). Nothing was connected; please try again.",
            status=502,
        )
    messages.success(request, f"Connected the Amazon seller account {connection.store_name}.")
    return redirect("amazon:settings")


@login_required
@require_POST
def disconnect(request: HttpRequest, code: str) -> HttpResponse:
    connection = get_owned_connection_for_user(request.user, code)
    connection_disconnect(connection=connection)
    messages.success(
        request,
        "Disconnected. CVR Tracker no longer calls Amazon for this account. To remove our "
        "access on Amazon's side too, use Manage Your Apps in Seller Central.",
    )
    return redirect("amazon:settings")
