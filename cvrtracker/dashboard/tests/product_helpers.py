"""A seller account with one product's days, listing and changes, written the way the
sync writes them (metrics ingest services, listings_admit, listing_changes_store)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.impact.services import impact_store
from cvrtracker.impact.types import Impact, ImpactWindow
from cvrtracker.listings.changes import NewChange, listing_changes_store
from cvrtracker.listings.models import Listing, ListingChange
from cvrtracker.listings.services import listings_admit
from cvrtracker.metrics.datakiosk import TrendRow
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.report import AsinRow, DateRow, Money
from cvrtracker.metrics.services import metrics_ingest_account_days, metrics_merge_asin_days

US = "ATVPDKIKX0DER"
ASIN = "B0KETTLE01"
SKU = "KET-US"
DAYS = 60
PENDING = 3
IMAGE = "https://m.media-amazon.test/images/I/kettle-main.jpg"


def connect(team, seller_id: str = "A1PRODUCT") -> SellerConnection:
    connection = SellerConnection(
        team=team,
        region="NA",
        selling_partner_id=seller_id,
        marketplaces=[{"id": US, "name": "Amazon.com"}],
    )
    connection.create_data_key()
    connection.save()
    return connection


def day_values(i: int) -> tuple[int, int, int]:
    """(sessions, units, sales in cents) of the i-th day; every 7th day sells nothing."""
    sessions = 100 + i
    units = 0 if i % 7 == 0 else 5 + i % 4
    return sessions, units, units * 2499


def store_days(connection: SellerConnection, *, asin: str = ASIN) -> tuple[date, date]:
    """DAYS days ending yesterday; the last PENDING have sales but no traffic yet."""
    end = marketplace_today(US) - timedelta(days=1)
    start = end - timedelta(days=DAYS - 1)
    account, trend = [], []
    for i in range(DAYS):
        day = start + timedelta(days=i)
        sessions, units, cents = day_values(i)
        pending = i >= DAYS - PENDING
        units = units or (1 if pending else 0)  # a pending day is one with sales
        cents = units * 2499
        sessions = 0 if pending else sessions
        account.append(
            DateRow(
                day,
                sessions * 3,
                sessions * 4,
                units * 2,
                units * 2,
                Money(cents * 2, "USD"),
                0.0 if pending else 95.0,
                0.0,
            )
        )
        trend.append(
            TrendRow(
                day,
                AsinRow(
                    parent_asin=asin,
                    child_asin=asin,
                    sku=None,
                    sessions=sessions,
                    page_views=sessions * 2,
                    units_ordered=units,
                    total_order_items=units,
                    ordered_product_sales=Money(cents, "USD"),
                    buy_box_percentage=0.0 if pending else 90.0,
                    unit_session_percentage=100 * units / sessions if sessions else 0.0,
                ),
            )
        )
    common = {"connection": connection, "marketplace_id": US, "start": start, "end": end}
    metrics_ingest_account_days(rows=account, currency="USD", **common)
    metrics_merge_asin_days(asins=[asin], rows=trend, currency="USD", **common)
    return start, end


def admit(
    connection: SellerConnection, *, tracked: bool = True, title: str = "Blue Kettle"
) -> Listing:
    listings_admit(
        connection=connection,
        marketplace_id=US,
        items=[
            {
                "sku": SKU,
                "summaries": [
                    {"marketplaceId": US, "status": ["BUYABLE"], "itemName": title, "asin": ASIN}
                ],
            }
        ],
    )
    listing = Listing.objects.get(connection=connection, sku=SKU)
    if not tracked:
        Listing.objects.filter(pk=listing.pk).update(tracking=Listing.Tracking.STOPPED)
        listing.refresh_from_db()
    return listing


def set_content(listing: Listing, content: dict) -> None:
    keys = ConnectionKeys(listing.connection)
    listing.content_enc = keys.data.encrypt_json(content, aad=listing.aad("content"))
    listing.save(update_fields=["content_enc"])


_n = iter(range(10**6))


def change(
    connection: SellerConnection,
    *,
    field: str,
    day: date,
    action: str = "edited",
    before=None,
    after=None,
    listing: Listing | None = None,
    source: str = ListingChange.Source.OBSERVED,
    position: int | None = None,
    **extras,
) -> ListingChange:
    key = f"test:{next(_n)}"
    seen_at = datetime.combine(day, time(18, 0), tzinfo=UTC)
    listing_changes_store(
        connection=connection,
        changes=[
            NewChange(
                key=key,
                field=field,
                source=source,
                marketplace_id=US,
                day=day,
                seen_at=seen_at,
                asin=ASIN,
                sku=SKU if listing else "",
                listing=listing,
                position=position,
                payload={"action": action, "before": before, "after": after, **extras},
            )
        ],
    )
    return ListingChange.objects.get(connection=connection, key=key)


def impact(change_row: ListingChange, *, verdict: str = "improved", final: bool = True) -> Impact:
    day = change_row.day
    value = Impact(
        verdict=verdict,
        lift=0.25 if verdict == "improved" else None,
        lift_low=0.1 if verdict == "improved" else None,
        lift_high=0.42 if verdict == "improved" else None,
        before=ImpactWindow(day - timedelta(days=14), day - timedelta(days=1), 14, 1400, 70),
        after=ImpactWindow(day + timedelta(days=1), day + timedelta(days=14), 14, 1400, 88),
        trend_adjusted=True,
        shortened=False,
        final=final,
        as_of=day + timedelta(days=14),
        ready_on=None if verdict != "not_enough_data" else day + timedelta(days=20),
        units_per_month=38.6 if verdict == "improved" else None,
        note="Compared 14 days before with 14 days after, against the rest of the catalogue.",
    )
    impact_store(change=change_row, impact=value)
    return value
