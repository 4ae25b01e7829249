"""Store and read a listing's dated changes (ListingChange), encrypted per connection.

Every source of changes writes through `listing_changes_store`: the snapshot
diff (observed), the price inference before tracking began (inferred) and the
Buy Box and stock-out events read from the daily metrics (derived). A change
is stored once per (connection, key): a retried sync or derivation stores
nothing twice.

The encrypted payload is a dict:

    {"action": "added" | "removed" | "edited" | "reordered" | "changed"
               | "out_of_stock" | "back_in_stock" | "appeared" | "cleared"
               | "lost" | "won_back",
     "before": <JSON value or null>, "after": <JSON value or null>,
     ...field-specific extras, e.g. "pct" (price), "severity", "suppresses" (issues),
     "from_position" (a reordered bullet or image)}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.metrics.keys import ConnectionKeys

from .models import Listing, ListingChange, ListingSnapshot
from .signals import listing_changes_stored


@dataclass(frozen=True)
class NewChange:
    """One change to store (see the module docstring for `payload`)."""

    key: str
    field: str  # ListingChange.Field
    source: str  # ListingChange.Source
    marketplace_id: str
    day: date
    seen_at: datetime
    payload: dict[str, Any]
    seen_after: datetime | None = None
    position: int | None = None
    asin: str = ""
    sku: str = ""
    listing: Listing | None = None
    snapshot: ListingSnapshot | None = None


def listing_changes_store(
    *, connection: SellerConnection, changes: list[NewChange], keys: ConnectionKeys | None = None
) -> int:
    """Store the changes not stored yet (by key); returns how many were new."""
    if not changes:
        return 0
    keys = keys or ConnectionKeys(connection)
    existing = set(
        ListingChange.objects.filter(
            connection=connection, key__in=[c.key for c in changes]
        ).values_list("key", flat=True)
    )
    rows = []
    seen: set[str] = set()
    for change in changes:
        if change.key in existing or change.key in seen:
            continue
        seen.add(change.key)
        listing = change.listing
        row = ListingChange(
            connection=connection,
            listing=listing,
            marketplace_id=change.marketplace_id,
            asin=change.asin or (listing.asin if listing else ""),
            sku=change.sku or (listing.sku if listing else ""),
            field=change.field,
            position=change.position,
            source=change.source,
            day=change.day,
            seen_after=change.seen_after,
            seen_at=change.seen_at,
            snapshot=change.snapshot,
            key=change.key,
        )
        row.payload_enc = keys.data.encrypt_json(change.payload, aad=row.aad("payload"))
        rows.append(row)
    # A concurrent writer of the same key wins; ours is dropped, never duplicated.
    ListingChange.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        listing_changes_stored.send(
            sender=ListingChange,
            connection=connection,
            marketplace_ids=sorted({row.marketplace_id for row in rows}),
            count=len(rows),
        )
    return len(rows)


def listing_change_payload(*, change: ListingChange, keys: ConnectionKeys) -> dict[str, Any]:
    """The decrypted payload of one stored change."""
    return keys.data.decrypt_json(bytes(change.payload_enc), aad=change.aad("payload"))
