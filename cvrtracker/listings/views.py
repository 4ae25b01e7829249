"""The change history pages: one product's changes, and a seller account's recent changes.

Both read through the same selector and filters; an htmx "Older changes" request
gets just the next page's list, a plain link the whole page.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from cvrtracker.accounts.access import (
    get_connection_for_user,
    get_connections_for_user,
    get_listing_for_user,
)
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.billing.limits import history_start_for_team
from cvrtracker.lib import clock

from .forms import ChangeFiltersForm
from .history import SOURCE_EXPLANATIONS, change_views, listing_changes_record_read
from .models import Listing, ListingChange
from .selectors import listing_changes_page, listing_changes_query, listings_titles

CHANGES_PER_PAGE = 50


def _history(
    request: HttpRequest, connection: SellerConnection, *, listing: Listing | None = None
) -> HttpResponse:
    form = ChangeFiltersForm(request.GET, connection=connection)
    ctx = {
        "section": "amazon",
        "connection": connection,
        "listing": listing,
        "form": form,
        "fields": ListingChange.Field.choices,
        "sources": ListingChange.Source.choices,
        "explanations": SOURCE_EXPLANATIONS,
    }
    if listing is not None:
        ctx["title"] = listings_titles(connection=connection, listings=[listing]).get(listing.pk)
    if not form.is_valid():
        ctx["error"] = form.error_text()
        return render(request, "listings/changes.html", ctx, status=400)
    history_start = history_start_for_team(connection.team, today=clock.today())
    filters = form.filters(product=listing, earliest=history_start)
    page = listing_changes_page(
        connection=connection,
        filters=filters,
        after=form.cleaned_data["cursor"],
        limit=CHANGES_PER_PAGE,
    )
    listing_changes_record_read(
        actor=request.user, connection=connection, listing=listing, request=request
    )
    markets = {m.get("id"): m.get("name") or m.get("id") for m in connection.marketplaces}
    query = request.GET.copy()
    query["cursor"] = page.next_cursor
    ctx.update(
        changes=change_views(rows=page.rows, marketplaces=markets),
        next_query=query.urlencode() if page.next_cursor else "",
        history_start=history_start,
        # Older changes are kept, only not shown: say so instead of hiding them silently.
        history_limited=listing_changes_query(
            connection=connection,
            filters=replace(filters, start=None, end=history_start - timedelta(days=1)),
        ).exists(),
    )
    if request.headers.get("HX-Request") and form.cleaned_data["cursor"]:
        return render(request, "listings/_changes_page.html", ctx)
    return render(request, "listings/changes.html", ctx)


@login_required
@require_GET
def product_changes(request: HttpRequest, code) -> HttpResponse:
    listing = get_listing_for_user(request.user, code)
    return _history(request, listing.connection, listing=listing)


@login_required
@require_GET
def account_changes(request: HttpRequest, code) -> HttpResponse:
    return _history(request, get_connection_for_user(request.user, code))


@login_required
@require_GET
def changes_home(request: HttpRequest) -> HttpResponse:
    """The navigation's "Changes": the one seller account's page, or a choice of them."""
    connections = list(get_connections_for_user(request.user).order_by("created_at"))
    if len(connections) == 1:
        # Filters given here (a bookmarked ?field=title) go along with the redirect.
        target = reverse("listings:account_changes", kwargs={"code": connections[0].code})
        query = request.GET.urlencode()
        return redirect(f"{target}?{query}" if query else target)
    return render(
        request, "listings/changes_home.html", {"section": "amazon", "connections": connections}
    )
