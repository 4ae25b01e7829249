"""A small seller account with known numbers for the product table's tests, written the
way the sync writes them (listings_admit, listing_record_snapshot, inventory_upsert_fba,
metrics_ingest_days, listing_changes_store).

The clock is pinned to NOW: the last whole day is 14 June 2026, so the default 30-day
period runs 16 May – 14 June and the previous one 16 April – 15 May. The last day is
pending (units but no sessions yet).

    product      SKU     parent   tracking  current/day (sess, units)  previous/day
    B0AAAAAAA1   KET-1   B0PARENT1  tracked  100, 10 → 10 %            100, 5 → 5 %
    B0BBBBBBB2   MUG-2   B0PARENT1  tracked   50, 1  →  2 %             50, 2 → 4 %
    B0CCCCCCC3   LAMP-3  —          tracked   none                       20, 1 → 5 %
    B0DDDDDDD4   TEA-4   —          stopped   10, 1  → 10 %              none
    B0EEEEEEE5   —       —          no listing 40, 1 → 2.5 %             none
    (no ASIN)    NEW-6   —          tracked   none                       none
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.listings.changes import NewChange, listing_changes_store
from cvrtracker.listings.models import Listing, ListingChange
from cvrtracker.listings.services import (
    inventory_upsert_fba,
    listing_record_snapshot,
    listing_tracking_set,
    listings_admit,
)
from cvrtracker.metrics.report import AsinRow, DateRow, Money, SalesTrafficReport
from cvrtracker.metrics.services import metrics_ingest_days

US = "ATVPDKIKX0DER"
NOW = datetime(2026, 6, 15, 18, 0, tzinfo=UTC)
LAST_DAY = date(2026, 6, 14)
START = date(2026, 5, 16)
PREVIOUS_START = date(2026, 4, 16)

PRODUCTS = {
    # asin: (sku, title, parent, current (sessions, units, cents), previous (...))
    "B0AAAAAAA1": ("KET-1", "Blue Kettle", "B0PARENT1", (100, 10, 2500), (100, 5, 2500)),
    "B0BBBBBBB2": ("MUG-2", "Red Mug", "B0PARENT1", (50, 1, 900), (50, 2, 900)),
    "B0CCCCCCC3": ("LAMP-3", "Desk Lamp", "", None, (20, 1, 4000)),
    "B0DDDDDDD4": ("TEA-4", "Green Teapot", "", (10, 1, 1500), None),
    "B0EEEEEEE5": (None, None, "", (40, 1, 700), None),
}
# Units sold on the pending last day, per ASIN with current sales.
PENDING_UNITS = 3


def item(sku: str, asin: str, title: str, *, issues: list | None = None) -> dict:
    summary = {"marketplaceId": US, "status": ["BUYABLE"], "itemName": title}
    if asin:
        summary["asin"] = asin
    return {"sku": sku, "summaries": [summary], "issues": issues or []}


SUPPRESSING = {
    "code": "90220",
    "severity": "ERROR",
    "message": "A required attribute is missing",
    "enforcements": {"actions": [{"action": "SEARCH_SUPPRESSED"}]},
}


def _row(asin: str, parent: str, sessions: int, units: int, cents: int) -> AsinRow:
    return AsinRow(
        parent_asin=parent or asin,
        child_asin=asin,
        sku=None,
        sessions=sessions,
        page_views=sessions * 2,
        units_ordered=units,
        total_order_items=units,
        ordered_product_sales=Money(cents * units, "USD"),
        buy_box_percentage=90.0,
        unit_session_percentage=round(units / sessions * 100, 2) if sessions else 0.0,
    )


def day_report(day: date) -> SalesTrafficReport:
    pending = day == LAST_DAY
    rows = []
    for asin, (_, _, parent, current, previous) in PRODUCTS.items():
        values = current if day >= START else previous
        if values is None:
            continue
        sessions, units, cents = values
        if pending:
            sessions, units = 0, PENDING_UNITS
        rows.append(_row(asin, parent, sessions, units, cents))
    total = DateRow(
        day=day,
        sessions=sum(r.sessions for r in rows),
        page_views=sum(r.page_views for r in rows),
        units_ordered=sum(r.units_ordered for r in rows),
        total_order_items=sum(r.total_order_items for r in rows),
        ordered_product_sales=Money(sum(r.ordered_product_sales.amount_minor for r in rows), "USD"),
        buy_box_percentage=90.0,
        unit_session_percentage=0.0,
    )
    return SalesTrafficReport(
        start=day,
        end=day,
        date_granularity="DAY",
        asin_granularity="CHILD",
        marketplace_ids=(US,),
        by_date=(total,),
        by_asin=tuple(rows),
    )


def make_seller(team, user) -> SellerConnection:
    """The connection above, with every day from PREVIOUS_START to LAST_DAY stored."""
    connection = SellerConnection(
        team=team,
        created_by=user,
        region="NA",
        selling_partner_id="A1TABLESELLER",
        marketplaces=[{"id": US, "name": "Amazon.com"}],
    )
    connection.create_data_key()
    connection.save()
    items = [
        item(sku, asin, title, issues=[SUPPRESSING] if sku == "LAMP-3" else None)
        for asin, (sku, title, *_) in PRODUCTS.items()
        if sku
    ] + [item("NEW-6", "", "Brand New Thing")]
    admitted = listings_admit(connection=connection, marketplace_id=US, items=items)
    for entry in items:
        listing_record_snapshot(
            listing=admitted[entry["sku"]], item=entry, catalog_item=None, sync_id="sync-1"
        )
    listing_tracking_set(listing=admitted["TEA-4"], tracked=False, actor=user)
    inventory_upsert_fba(
        connection=connection,
        marketplace_id=US,
        summaries=[
            {
                "sellerSku": "KET-1",
                "asin": "B0AAAAAAA1",
                "inventoryDetails": {"fulfillableQuantity": 5},
            },
            {
                "sellerSku": "MUG-2",
                "asin": "B0BBBBBBB2",
                "inventoryDetails": {"fulfillableQuantity": 0},
            },
        ],
    )
    days = [PREVIOUS_START + timedelta(days=i) for i in range((LAST_DAY - PREVIOUS_START).days + 1)]
    metrics_ingest_days(
        connection=connection, marketplace_id=US, reports={d: day_report(d) for d in days}
    )
    # One price change of the mug inside the period, one of the kettle before it.
    for key, listing, day in (
        ("t:mug", admitted["MUG-2"], date(2026, 6, 1)),
        ("t:ket", admitted["KET-1"], date(2026, 5, 1)),
    ):
        seen = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)
        listing_changes_store(
            connection=connection,
            changes=[
                NewChange(
                    key=key,
                    field=ListingChange.Field.PRICE,
                    source=ListingChange.Source.OBSERVED,
                    marketplace_id=US,
                    day=day,
                    seen_at=seen,
                    seen_after=seen - timedelta(hours=1),
                    listing=listing,
                    payload={"action": "changed", "before": "9.00", "after": "8.00"},
                )
            ],
        )
    assert Listing.objects.get(connection=connection, sku="TEA-4").tracking == "stopped"
    return connection
