"""Reads of listings: the plan's count of tracked products, per-account summaries, titles,
and the change history (newest first, filtered, a cursor per page)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core import signing
from django.db.models import Count, Q, QuerySet

from cvrtracker.accounts.models import Team
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.metrics.keys import ConnectionKeys

from .changes import listing_change_payload
from .models import Listing, ListingChange


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

    Disconnected or revoked seller accounts are left out: nothing of theirs is synced, and
    a seller who replaces one account with another gets its places back.
    """
    tracked = Listing.objects.filter(
        connection__in=SellerConnection.objects.live().filter(team=team),
        tracking=Listing.Tracking.TRACKED,
    )
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


# The change history ----------------------------------------------------------------

CHANGES_CURSOR_SALT = "cvrtracker.listings.changes.cursor"
# A cursor is three short values and a signature; anything longer is not one of ours.
CHANGES_CURSOR_MAX_LENGTH = 300


class InvalidCursor(Exception):
    """A page cursor that is malformed, tampered with, or from another seller account."""


@dataclass(frozen=True)
class ChangePosition:
    """Where a page of changes ends: the last change's sort key (day, seen_at, code).

    All three are public values, so a cursor leaks no database id; the order is
    total (codes are unique), so pages neither skip nor repeat a change, and a
    change stored later takes its place in the order without moving the others.
    """

    day: date
    seen_at: datetime
    code: uuid.UUID


@dataclass(frozen=True)
class ChangeFilters:
    """What to read: every product of the account, one product (`product`: all SKUs
    and marketplaces of its ASIN), or one `listing`; narrowed by the other fields."""

    product: Listing | None = None
    listing: Listing | None = None
    asin: str = ""
    field: str = ""
    source: str = ""
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class ChangeRow:
    change: ListingChange
    # The decrypted payload (changes.py); None when the account's key is destroyed.
    payload: dict[str, Any] | None


@dataclass(frozen=True)
class ChangesPage:
    rows: list[ChangeRow]
    # The cursor of the next (older) page; "" on the last page.
    next_cursor: str


def _cursor_salt(connection: SellerConnection) -> str:
    # Bound to the account: a cursor of one seller account is refused on another.
    return f"{CHANGES_CURSOR_SALT}:{connection.code}"


def changes_cursor_encode(*, connection: SellerConnection, change: ListingChange) -> str:
    """An opaque, signed cursor that continues after `change`."""
    value = [change.day.isoformat(), change.seen_at.isoformat(), change.code.hex]
    return signing.Signer(salt=_cursor_salt(connection)).sign_object(value)


def changes_cursor_decode(*, connection: SellerConnection, cursor: str) -> ChangePosition:
    """The position a cursor of this account points at; InvalidCursor otherwise."""
    if len(cursor) > CHANGES_CURSOR_MAX_LENGTH:
        raise InvalidCursor("cursor is not valid: use the `next` value of a previous answer.")
    try:
        value = signing.Signer(salt=_cursor_salt(connection)).unsign_object(cursor)
        day, seen_at, code = value
        position = ChangePosition(
            day=date.fromisoformat(day),
            seen_at=datetime.fromisoformat(seen_at),
            code=uuid.UUID(hex=code),
        )
    except (signing.BadSignature, ValueError, TypeError, AttributeError):
        raise InvalidCursor(
            "cursor is not valid: use the `next` value of a previous answer."
        ) from None
    if position.seen_at.tzinfo is None:
        raise InvalidCursor("cursor is not valid: use the `next` value of a previous answer.")
    return position


def _product_scope(listing: Listing) -> Q:
    """Every SKU and marketplace of the listing's product (Listing.product_key)."""
    if listing.asin:
        return Q(asin=listing.asin)
    return Q(asin="", sku=listing.sku)


def listing_changes_query(
    *, connection: SellerConnection, filters: ChangeFilters
) -> QuerySet[ListingChange]:
    """The account's changes that pass the filters, newest first (day, then when seen)."""
    changes = ListingChange.objects.filter(connection=connection)
    if filters.product is not None:
        changes = changes.filter(_product_scope(filters.product))
    if filters.listing is not None:
        changes = changes.filter(listing=filters.listing)
    if filters.asin:
        changes = changes.filter(asin=filters.asin)
    if filters.field:
        changes = changes.filter(field=filters.field)
    if filters.source:
        changes = changes.filter(source=filters.source)
    if filters.start is not None:
        changes = changes.filter(day__gte=filters.start)
    if filters.end is not None:
        changes = changes.filter(day__lte=filters.end)
    return changes.order_by("-day", "-seen_at", "-code")


def listing_changes_page(
    *,
    connection: SellerConnection,
    filters: ChangeFilters,
    after: ChangePosition | None = None,
    limit: int = 50,
) -> ChangesPage:
    """One page of the account's changes, newest first, starting after `after` (a
    decoded cursor), with each payload decrypted (the account's key unwrapped once)."""
    changes = listing_changes_query(connection=connection, filters=filters)
    if after is not None:
        changes = changes.filter(
            Q(day__lt=after.day)
            | Q(day=after.day, seen_at__lt=after.seen_at)
            | Q(day=after.day, seen_at=after.seen_at, code__lt=after.code)
        )
    found = list(changes.select_related("listing")[: limit + 1])
    more, found = len(found) > limit, found[:limit]
    try:
        keys: ConnectionKeys | None = ConnectionKeys(connection) if found else None
    except DecryptionError:
        # The account's key was destroyed: its changes stay listed, their content unreadable.
        keys = None
    rows = [
        ChangeRow(
            change=change,
            payload=listing_change_payload(change=change, keys=keys) if keys else None,
        )
        for change in found
    ]
    next_cursor = changes_cursor_encode(connection=connection, change=found[-1]) if more else ""
    return ChangesPage(rows=rows, next_cursor=next_cursor)
