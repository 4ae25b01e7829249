"""The read-only JSON API (/api/v1/) and Settings → API, where owners manage keys.

Endpoints run inside `api_view` (decorators.py): key, method, rate limit and
plan are settled before any of them starts. Each one then resolves the
connection through the key's team, validates its query, writes the audit entry
and answers.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from cvrtracker.accounts.access import get_membership_for_user, get_owned_team_for_user
from cvrtracker.accounts.models import Team
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.api import schemas
from cvrtracker.api.access import (
    get_api_keys_for_user,
    get_connection_for_key,
    get_connections_for_key,
    get_owned_api_key_for_user,
)
from cvrtracker.api.decorators import InvalidQuery, api_view, error
from cvrtracker.api.forms import (
    CHANGES_DEFAULT_LIMIT,
    CHANGES_MAX_LIMIT,
    ApiKeyForm,
    ChangesForm,
    ProductTableForm,
    WindowForm,
    clean_asin,
)
from cvrtracker.api.models import ApiKey
from cvrtracker.api.payloads import (
    NO_LABEL,
    ProductLabel,
    Window,
    change_json,
    connection_json,
    day_json,
    product_row_json,
)
from cvrtracker.api.services import api_key_create, api_key_record_read, api_key_revoke
from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.limits import API, PlanLimitError, history_start_for_team, team_can
from cvrtracker.impact.selectors import impact_for_changes
from cvrtracker.lib import clock
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.models import Listing, ListingChange
from cvrtracker.listings.selectors import listing_changes_page, listings_titles
from cvrtracker.metrics.selectors import (
    metrics_account_series,
    metrics_product_series,
    metrics_product_table,
)

Action = AuditEntry.Action


def _window(team: Team, form: WindowForm) -> Window:
    """The validated range, its start moved up to the first day the plan shows."""
    data = form.cleaned_data
    history_start = history_start_for_team(team, today=clock.today())
    return Window(
        marketplace=data["marketplace"],
        start=max(data["start"], history_start),
        end=data["end"],
        requested_start=data["start"],
        history_start=history_start,
    )


def _marketplaces(connection: SellerConnection) -> list[str]:
    return [m["id"] for m in connection.marketplaces if m.get("id")]


def _invalid(form: forms.Form) -> InvalidQuery:
    errors = form.errors.get_json_data()
    every = [e["message"] for field_errors in errors.values() for e in field_errors]
    fields = {
        name: [e["message"] for e in field_errors]
        for name, field_errors in errors.items()
        if name != "__all__"
    }
    return InvalidQuery(" ".join(every), fields=fields)


def _read(
    request: HttpRequest,
    key: ApiKey,
    code,
    *,
    action: str,
    form_class: type[WindowForm] = WindowForm,
    asin: str | None = None,
) -> tuple[SellerConnection, dict, Window]:
    """The key's connection, the cleaned query and the window it covers, once the
    read is audited. 404 for another team's connection; InvalidQuery for a bad
    `asin` (checked first) or query."""
    connection = get_connection_for_key(key, code)
    if asin is not None and clean_asin(asin) is None:
        message = "The ASIN must be ten capital letters or digits."
        raise InvalidQuery(message, fields={"asin": [message]})
    form = form_class(request.GET, marketplaces=_marketplaces(connection))
    if not form.is_valid():
        raise _invalid(form)
    window = _window(key.team, form)
    api_key_record_read(key=key, action=action, request=request, connection=connection)
    return connection, form.cleaned_data, window


def _product_labels(connection: SellerConnection, marketplace_id: str, asins: list[str]):
    """{asin: ProductLabel}: the title (of the first listing that has one) and the SKUs."""
    listings = list(
        Listing.objects.filter(
            connection=connection, marketplace_id=marketplace_id, asin__in=asins
        ).order_by("sku")
    )
    titles = listings_titles(connection=connection, listings=listings)
    labels: dict[str, ProductLabel] = {}
    for listing in listings:
        label = labels.setdefault(listing.asin, ProductLabel(title="", skus=[]))
        label.skus.append(listing.sku)
        if not label.title and titles.get(listing.pk):
            labels[listing.asin] = ProductLabel(title=titles[listing.pk], skus=label.skus)
    return labels


@api_view(answer=schemas.Connections)
def connections(request: HttpRequest, key: ApiKey) -> schemas.Connections:
    """The team's seller accounts and their marketplaces."""
    api_key_record_read(key=key, action=Action.API_CONNECTIONS_READ, request=request)
    return schemas.Connections(
        connections=[connection_json(c) for c in get_connections_for_key(key)]
    )


@api_view(answer=schemas.Products, query=ProductTableForm)
def products(request: HttpRequest, key: ApiKey, code) -> schemas.Products:
    """Per-ASIN totals over the window, with each product's title and SKUs.

    Sums over the window's days (Σunits ÷ Σsessions for `conversion_rate`), never
    averages of daily percentages.
    """
    connection, query, window = _read(
        request, key, code, action=Action.API_PRODUCTS_READ, form_class=ProductTableForm
    )
    order_by, limit = query["order_by"], query["limit"]
    rows = (
        []
        if window.empty
        else metrics_product_table(
            connection=connection,
            marketplace_id=window.marketplace,
            start=window.start,
            end=window.end,
            order_by=order_by,
            limit=limit,
        )
    )
    labels = _product_labels(connection, window.marketplace, [row.asin for row in rows])
    return schemas.Products(
        connection=str(connection.code),
        **window.json(),
        order_by=order_by,
        limit=limit,
        products=[product_row_json(row, labels.get(row.asin, NO_LABEL)) for row in rows],
    )


@api_view(answer=schemas.ProductSeries, query=WindowForm)
def product_series(request: HttpRequest, key: ApiKey, code, asin: str) -> schemas.ProductSeries:
    """One child ASIN's days."""
    connection, _, window = _read(
        request, key, code, action=Action.API_PRODUCT_SERIES_READ, asin=asin
    )
    days = (
        []
        if window.empty
        else metrics_product_series(
            connection=connection,
            asin=asin,
            start=window.start,
            end=window.end,
            marketplace_id=window.marketplace,
        )
    )
    return schemas.ProductSeries(
        connection=str(connection.code),
        asin=asin,
        **window.json(),
        days=[day_json(day) for day in days],
    )


@api_view(answer=schemas.Series, query=WindowForm)
def account_series(request: HttpRequest, key: ApiKey, code) -> schemas.Series:
    """The whole account's days in one marketplace."""
    connection, _, window = _read(request, key, code, action=Action.API_ACCOUNT_SERIES_READ)
    days = (
        []
        if window.empty
        else metrics_account_series(
            connection=connection,
            marketplace_id=window.marketplace,
            start=window.start,
            end=window.end,
        )
    )
    return schemas.Series(
        connection=str(connection.code),
        **window.json(),
        days=[day_json(day) for day in days],
    )


@api_view(answer=schemas.Changes, query=ChangesForm)
def changes(request: HttpRequest, key: ApiKey, code) -> schemas.Changes:
    """The account's listing changes, newest first, each with its impact on conversion.

    A page at a time: `next` is the cursor of the following page, null on the last.
    """
    connection = get_connection_for_key(key, code)
    form = ChangesForm(request.GET, connection=connection)
    if not form.is_valid():
        raise _invalid(form)
    history_start = history_start_for_team(key.team, today=clock.today())
    filters = form.filters(earliest=history_start)
    api_key_record_read(
        key=key, action=Action.API_CHANGES_READ, request=request, connection=connection
    )
    page = listing_changes_page(
        connection=connection,
        filters=filters,
        after=form.cleaned_data["cursor"],
        limit=form.cleaned_data["limit"],
    )
    impacts = _impacts(connection, page.rows)
    requested = form.cleaned_data["start"]
    return schemas.Changes(
        connection=str(connection.code),
        start=filters.start.isoformat() if filters.start else None,
        end=filters.end.isoformat() if filters.end else None,
        history_start=history_start.isoformat(),
        history_limited=requested is None or requested < history_start,
        limit=form.cleaned_data["limit"],
        changes=[change_json(row, impacts.get(row.change.pk)) for row in page.rows],
        next=page.next_cursor or None,
    )


def _impacts(connection: SellerConnection, rows) -> dict:
    """The stored impacts of the page's changes; none when the account's key is gone
    (as the changes' own values, they are unreadable then)."""
    readable = [row.change for row in rows if row.payload is not None]
    try:
        return impact_for_changes(connection=connection, changes=readable)
    except DecryptionError:
        return {}


@csrf_exempt
def not_found(request: HttpRequest) -> HttpResponse:
    return error(404, "Not found.")


@require_GET
def openapi(request: HttpRequest) -> HttpResponse:
    """The OpenAPI 3.1 document of this API, built from the code (openapi.py)."""
    # apispec is loaded only when the document is asked for, not with the URLconf.
    from cvrtracker.api.openapi import openapi_document

    response = HttpResponse(openapi_document(), content_type="application/json")
    response["Access-Control-Allow-Origin"] = "*"
    return response


# Settings → API ---------------------------------------------------------------------


@login_required
@never_cache
def keys_page(request: HttpRequest) -> HttpResponse:
    """Everyone on the team sees the keys; only the owner creates them. The new
    key's secret is in this response only: it is neither stored nor redirected."""
    membership = get_membership_for_user(request.user)
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST":
        team = get_owned_team_for_user(request.user)
        if form.is_valid():
            try:
                created = api_key_create(
                    team=team, name=form.cleaned_data["name"], actor=request.user, request=request
                )
            except PlanLimitError as refusal:
                messages.error(request, refusal.message)
                return redirect("api_keys:page")
            form = ApiKeyForm()
    ctx = {
        "section": "api",
        "membership": membership,
        "keys": get_api_keys_for_user(request.user),
        "form": form,
        "created": created,
        "plan": team_can(membership.team, API),
        "api_root": f"{settings.SITE_ROOT}/api/v1",
        "rate_limit": settings.API_RATE_LIMIT_PER_MINUTE,
        "change_fields": ", ".join(ListingChange.Field.values),
        "changes_default_limit": CHANGES_DEFAULT_LIMIT,
        "changes_max_limit": CHANGES_MAX_LIMIT,
    }
    return render(request, "api/keys.html", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, code) -> HttpResponse:
    """GET asks for confirmation; POST revokes."""
    key = get_owned_api_key_for_user(request.user, code)
    if request.method == "GET":
        if key.is_revoked:
            return redirect("api_keys:page")
        ctx = {
            "section": "api",
            "title": "Revoke this API key?",
            "question": f"Revoke the key “{key.name}” ({key.prefix}…)?",
            "details": [
                "Everything that uses it gets 401 from its next request on. A revoked key "
                "cannot be restored: you would create a new key and put it where this one was.",
            ],
            "action": reverse("api_keys:revoke", args=[key.code]),
            "fields": [],
            "confirm": "Revoke",
            "cancel_url": reverse("api_keys:page"),
        }
        return render(request, "confirm.html", ctx)
    api_key_revoke(key=key, actor=request.user, request=request)
    messages.success(request, f"The key “{key.name}” is revoked: it no longer works.")
    return redirect("api_keys:page")
