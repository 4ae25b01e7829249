"""Change histories written the way every producer writes them: through listing_changes_store."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.listings.changes import NewChange, listing_changes_store
from cvrtracker.listings.models import Listing, ListingChange

from .helpers import US, admit, item, make_connection

Field = ListingChange.Field
Source = ListingChange.Source
MARKETS = [
    {"id": US, "name": "Amazon.com"},
    {"id": "A2EUQ1WTGCTBG2", "name": "Amazon.ca"},
]
_keys = itertools.count()


def seller_with_products(team, seller_id: str) -> tuple[SellerConnection, Listing, Listing]:
    """A connection with two tracked products (B0KETTLE01 in two marketplaces, B0MUG00002)."""
    connection = make_connection(team, seller_id, marketplaces=MARKETS)
    admit(connection, [item("KET-US", "B0KETTLE01", title="Blue Kettle")])
    admit(
        connection,
        [item("KET-CA", "B0KETTLE01", market="A2EUQ1WTGCTBG2", title="Blue Kettle")],
        market="A2EUQ1WTGCTBG2",
    )
    admit(connection, [item("MUG-US", "B0MUG00002", title="Red Mug")])
    kettle = Listing.objects.get(connection=connection, sku="KET-US")
    mug = Listing.objects.get(connection=connection, sku="MUG-US")
    return connection, kettle, mug


def store(
    connection: SellerConnection,
    *,
    field: str,
    day: date,
    listing: Listing | None = None,
    source: str = Source.OBSERVED,
    action: str = "edited",
    before=None,
    after=None,
    position: int | None = None,
    asin: str = "",
    at: time = time(15, 1),
    **extras,
) -> ListingChange:
    """One change of `listing` (or of `asin` alone), stored and read back."""
    seen_at = datetime.combine(day, at, tzinfo=UTC)
    observed = source == Source.OBSERVED
    key = f"test:{next(_keys)}"
    listing_changes_store(
        connection=connection,
        changes=[
            NewChange(
                key=key,
                field=field,
                source=source,
                marketplace_id=listing.marketplace_id if listing else US,
                day=day,
                seen_at=seen_at,
                seen_after=seen_at - timedelta(minutes=59) if observed else None,
                position=position,
                asin=asin,
                listing=listing,
                payload={"action": action, "before": before, "after": after, **extras},
            )
        ],
    )
    return ListingChange.objects.get(connection=connection, key=key)
