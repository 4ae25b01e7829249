"""Settings → Amazon, the products page, and the OAuth connect flow (like
Healthchecks' Slack integration).

`connect` stores a random state in the session and sends the seller to Amazon's
consent page; `connect_complete` (the registered redirect URI) pops and
compares it before anything is exchanged or stored.

The SP-API client, the services that call it and the sales-traffic budget (httpx,
tenacity, the rate limiter: ~8 MB) are imported inside the views that use them:
every web worker loads this module with the URLconf, and the dashboard's pages and
downloads, most of what a worker serves, never call Amazon.
"""

from __future__ import annotations

import secrets
import time
import uuid
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from cvrtracker.accounts.access import (
    get_connection_for_user,
    get_connections_for_user,
    get_listing_for_user,
    get_membership_for_user,
    get_owned_connection_for_user,
    get_owned_team_for_user,
    get_stopped_connections_for_user,
)
from cvrtracker.accounts.models import Team
from cvrtracker.amazon.forms import SHOW_CHOICES, ProductsViewForm, TrackingForm
from cvrtracker.amazon.images import simulator_image_fetch
from cvrtracker.amazon.marketplaces import marketplace_day
from cvrtracker.amazon.models import STOPPED_STATUSES, Region, SellerConnection
from cvrtracker.amazon.sync.schedule import listings_sweep_words
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_context_from_request, audit_record
from cvrtracker.billing.limits import (
    CONNECT_SELLER_ACCOUNT,
    TRACK_PRODUCT,
    Decision,
    PlanLimitError,
    team_can,
    team_is_read_only,
)
from cvrtracker.lib import clock
from cvrtracker.lib.middleware import cacheable
from cvrtracker.listings.selectors import (
    listings_for_page,
    listings_titles,
    listings_tracked_count,
    listings_tracking_summary,
)
from cvrtracker.listings.services import listing_tracking_set

SESSION_KEY = "amazon_connect"
# Amazon's authorization code lives 5 minutes; the seller may take a while to sign in.
STATE_MAX_AGE = 30 * 60
UNVERIFIED = "Confirm your email address before connecting an Amazon seller account."
PRODUCTS_PER_PAGE = 100


@login_required
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    from cvrtracker.amazon.sync.sales_traffic import sales_traffic_budget_usage

    membership = get_membership_for_user(request.user)
    connections = list(get_connections_for_user(request.user))
    # Stopped ones are named with what happens to their data, never read.
    stopped = list(get_stopped_connections_for_user(request.user))
    for connection in connections:
        connection.tracking = listings_tracking_summary(connection=connection)
        connection.st_budget = sales_traffic_budget_usage(connection=connection)
        connection.sweep_every = listings_sweep_words(connection.tracking.tracked)
    waiting = any(connection.tracking.over_limit for connection in connections)
    context = audit_context_from_request(request)
    for connection in connections + stopped:
        audit_record(
            action=AuditEntry.Action.AMAZON_SETTINGS_READ,
            context=context,
            team=membership.team,
            target=connection,
        )
    ctx = {
        "section": "amazon",
        "membership": membership,
        "connections": connections,
        "stopped": stopped,
        "purge_days": settings.AMAZON_DATA_PURGE_DAYS,
        "regions": Region.choices,
        "refusal": _tracking_refusal(membership.team) if waiting else None,
    }
    return render(request, "amazon/settings.html", ctx)


def _tracking_refusal(team) -> Decision | None:
    """Why the plan tracks no more products now, or None while it has room."""
    decision = team_can(team, TRACK_PRODUCT, current=listings_tracked_count(team=team))
    return None if decision else decision


@login_required
@require_GET
def products(request: HttpRequest, code: str) -> HttpResponse:
    connection = get_connection_for_user(request.user, code)
    view = ProductsViewForm(request.GET)
    show = view.cleaned_data["show"] if view.is_valid() else ""
    listings = listings_for_page(connection=connection, tracking=show)
    page = Paginator(listings, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    titles = listings_titles(connection=connection, listings=rows)
    markets = {m.get("id"): m.get("name") or m.get("id") for m in connection.marketplaces}
    now = clock.now()
    for row in rows:
        row.title = titles.get(row.pk, "")
        row.marketplace_name = markets.get(row.marketplace_id, row.marketplace_id)
        # The day of the seller's edit that the detail page has not shown for days.
        row.edit_not_live_day = (
            marketplace_day(row.marketplace_id, row.edit_pending_since)
            if row.edit_not_live(now)
            else None
        )
    summary = listings_tracking_summary(connection=connection)
    team = connection.team
    audit_record(
        action=AuditEntry.Action.AMAZON_PRODUCTS_READ,
        context=audit_context_from_request(request),
        team=team,
        target=connection,
        detail=f"page {page.number}" + (f", {show}" if show else ""),
    )
    ctx = {
        "section": "amazon",
        "connection": connection,
        "summary": summary,
        "refusal": _tracking_refusal(team) if summary.over_limit else None,
        "page": page,
        "rows": rows,
        "show": show,
        "show_choices": SHOW_CHOICES,
        "can_change": connection.status != SellerConnection.Status.DISCONNECTED
        and not team_is_read_only(team),
    }
    return render(request, "amazon/products.html", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def product_tracking(request: HttpRequest, code: str) -> HttpResponse:
    """POST changes tracking. GET asks first whether to stop tracking: a product
    stopped by hand is never tracked again by itself."""
    listing = get_listing_for_user(request.user, code)
    if request.method == "GET":
        return _stop_tracking_confirmation(request, listing)
    form = TrackingForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Choose Track or Stop tracking.")
    tracked = form.cleaned_data["tracked"]
    try:
        listing_tracking_set(listing=listing, tracked=tracked, actor=request.user, request=request)
    except PlanLimitError as refusal:
        ctx = {"section": "amazon", "refusal": refusal, "connection": listing.connection}
        return render(request, "amazon/tracking_refused.html", ctx, status=402)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        name = listing.asin or listing.sku
        messages.success(
            request,
            f"Tracking {name} from the next listings sync."
            if tracked
            else f"Stopped tracking {name}; its place in your plan is free.",
        )
    url = reverse("amazon:products", args=[listing.connection.code])
    query = form.query()
    return redirect(f"{url}?{urlencode(query)}" if query else url)


def _stop_tracking_confirmation(request: HttpRequest, listing) -> HttpResponse:
    view = ProductsViewForm(request.GET)
    query = view.query() if view.is_valid() else {}
    url = reverse("amazon:products", args=[listing.connection.code])
    back = f"{url}?{urlencode(query)}" if query else url
    if not listing.is_tracked:
        return redirect(back)
    audit_record(
        action=AuditEntry.Action.AMAZON_PRODUCTS_READ,
        context=audit_context_from_request(request),
        team=listing.connection.team,
        target=listing,
    )
    name = listing.asin or listing.sku
    ctx = {
        "section": "amazon",
        "title": f"Stop tracking {name}?",
        "question": f"Stop tracking {name} ({listing.sku})?",
        "details": [
            "We stop reading its listing at each sync and record no new changes of it; "
            "what we recorded so far is kept.",
            "A product you stop is never tracked again by itself; you can start it again "
            "here, on the products page, with Track.",
        ],
        "action": reverse("amazon:product_tracking", args=[listing.code]),
        "fields": [("tracked", "0"), *query.items()],
        "confirm": "Stop tracking",
        "cancel_url": back,
    }
    return render(request, "confirm.html", ctx)


def _plan_refusal(team, *, selling_partner_id: str = "") -> str:
    """Why the team's plan forbids one more seller account, or "" if it allows it.

    Reconnecting a seller the team already has is never refused: it adds nothing.
    """
    # A stopped account is only waiting for its purge: it holds no place.
    held = team.seller_connections.filter(stopped_at=None).exclude(status__in=STOPPED_STATUSES)
    if selling_partner_id and held.filter(selling_partner_id=selling_partner_id).exists():
        return ""
    decision = team_can(team, CONNECT_SELLER_ACCOUNT, current=held.count())
    return "" if decision else decision.message


def _renewing(team: Team, code: str | None) -> str:
    """The seller id of the team's connection `code` (a reconnect or yearly renewal link),
    or "": renewing a seller account the team holds never counts against the plan."""
    try:
        uuid.UUID(code or "")
    except ValueError:
        return ""
    held = team.seller_connections.filter(code=code).values_list("selling_partner_id", flat=True)
    return held.first() or ""


def _start(request: HttpRequest, team: Team, region: str) -> str:
    """A fresh state bound to this session, the owner's team and the region."""
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
    refusal = _plan_refusal(team, selling_partner_id=_renewing(team, request.GET.get("renew")))
    if refusal:
        messages.error(request, refusal)
        return redirect("billing:page")
    from cvrtracker.amazon import client

    state = _start(request, team, region)
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
    team = get_owned_team_for_user(request.user)
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
        "state": _start(request, team, region),
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
        # As bytes: compare_digest raises TypeError on a str that is not ASCII.
        or not secrets.compare_digest(state.encode(), pending["state"].encode())
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
    from cvrtracker.amazon.client import AmazonError, ClientCredentialsRefused
    from cvrtracker.amazon.services import SellerAlreadyConnected, connection_authorize

    try:
        connection = connection_authorize(
            team=team,
            user=request.user,
            region=pending["region"],
            selling_partner_id=seller_id,
            code=code,
            context=audit_context_from_request(request),
        )
    except SellerAlreadyConnected:
        return _failed(
            request,
            "This Amazon seller account is already connected to another team on CVR "
            "Tracker. Ask that team's owner to disconnect it first.",
        )
    except ClientCredentialsRefused:
        return _failed(
            request,
            "Amazon sign-in for CVR Tracker is being renewed. Nothing was connected; "
            "please try again in a little while.",
            status=503,
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
@require_http_methods(["GET", "POST"])
def disconnect(request: HttpRequest, code: str) -> HttpResponse:
    """GET asks for confirmation; POST disconnects."""
    connection = get_owned_connection_for_user(request.user, code)
    if request.method == "GET":
        name = (connection.store_name if connection.is_active else "") or (
            connection.selling_partner_id
        )
        audit_record(
            action=AuditEntry.Action.AMAZON_ACCOUNTS_NAMED,
            context=audit_context_from_request(request),
            team=connection.team,
            target=connection,
        )
        ctx = {
            "section": "amazon",
            "title": "Disconnect this seller account?",
            "question": f"Disconnect {name}?",
            "details": [
                "CVR Tracker stops calling Amazon for this account at once and destroys its "
                "encryption key, so nothing synced from it can be read any more.",
                "Everything synced from it is then deleted: its listings, snapshots, changes, "
                "metrics, inventory, orders, the alerts about it and your team's data "
                f"exports, within minutes and at most {settings.AMAZON_DATA_PURGE_DAYS} days. "
                "The owner gets an email saying what was deleted.",
                "Reconnecting it later starts from an empty history.",
            ],
            "action": reverse("amazon:disconnect", args=[connection.code]),
            "fields": [],
            "confirm": "Disconnect",
            "cancel_url": reverse("amazon:settings"),
        }
        return render(request, "confirm.html", ctx)
    from cvrtracker.amazon.services import connection_disconnect

    connection_disconnect(
        connection=connection, actor=request.user, context=audit_context_from_request(request)
    )
    messages.success(
        request,
        "Disconnected. CVR Tracker no longer calls Amazon for this account, and its data is "
        "being deleted (Settings → Privacy lists what was deleted). To remove our access on "
        "Amazon's side too, use Manage Your Apps in Seller Central.",
    )
    return redirect("amazon:settings")


@cacheable(
    reason="a demo simulator's product image: the same public picture for every visitor, "
    "kept a day so that the product and change history pages do not relay it each time"
)
@login_required
@require_GET
def simulator_image(request: HttpRequest, image_id: str) -> HttpResponse:
    """The demo simulator's product image, relayed (404 in production: see images.py)."""
    found = simulator_image_fetch(image_id=image_id)
    if found is None:
        raise Http404("No such image")
    content, kind = found
    response = HttpResponse(content, content_type=kind)
    response["Cache-Control"] = "private, max-age=86400"
    return response
