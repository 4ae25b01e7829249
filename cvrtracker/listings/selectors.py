"""Reads of listings: the plan's count of tracked products, per-account summaries, titles."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from cvrtracker.accounts.models import Team
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.metrics.keys import ConnectionKeys

from .models import Listing


@dataclass(frozen=True)
class TrackingSummary:
    """The products of one seller account by tracking state."""

    tracked: int
    over_limit: int
    stopped: int

    @property
    def total(self) -> int:
        return self.tracked + self.over_limit + self.stopped


def listings_tracked_count(*, team: Team) -> int:
    """How many products the team tracks, as its plan counts them (Listing.product_key).

    Disconnected seller accounts are left out: nothing of theirs is synced, and
    a seller who replaces one account with another gets its places back.
    """
    tracked = Listing.objects.filter(
        connection__team=team, tracking=Listing.Tracking.TRACKED
    ).exclude(connection__status=SellerConnection.Status.DISCONNECTED)
    by_asin = tracked.exclude(asin="").values("connection_id", "asin").distinct().count()
    by_sku = tracked.filter(asin="").values("connection_id", "sku").distinct().count()
    return by_asin + by_sku


def listings_tracking_summary(*, connection: SellerConnection) -> TrackingSummary:
    """How many products of this seller account are tracked, waiting for a place, or stopped."""
    listings = Listing.objects.filter(connection=connection)
    counts: Counter[str] = Counter()
    for field, rows in (("asin", listings.exclude(asin="")), ("sku", listings.filter(asin=""))):
        per_state = rows.values("tracking").annotate(n=Count(field, distinct=True)).order_by()
        for row in per_state:
            counts[row["tracking"]] += row["n"]
    return TrackingSummary(
        tracked=counts[Listing.Tracking.TRACKED],
        over_limit=counts[Listing.Tracking.OVER_LIMIT],
        stopped=counts[Listing.Tracking.STOPPED],
    )


def listings_for_page(*, connection: SellerConnection, tracking: str = "") -> QuerySet[Listing]:
    """One seller account's listings for the products page, the SKUs of an ASIN together.

    `tracking` is "tracked", "untracked" (over the limit or stopped) or "" for all.
    """
    listings = Listing.objects.filter(connection=connection)
    if tracking == "tracked":
        listings = listings.filter(tracking=Listing.Tracking.TRACKED)
    elif tracking == "untracked":
        listings = listings.exclude(tracking=Listing.Tracking.TRACKED)
    return listings.order_by("asin", "sku", "marketplace_id")


def listings_titles(*, connection: SellerConnection, listings: list[Listing]) -> dict[int, str]:
    """The titles of some listings of one seller account, by id ("" when not known yet)."""
    try:
        keys = ConnectionKeys(connection)
    except DecryptionError:
        # The account's key was destroyed: its listings have no readable title.
        return {}
    return {
        listing.pk: keys.data.decrypt_str(bytes(listing.title_enc), aad=listing.aad("title"))
        for listing in listings
        if listing.title_enc
    }
