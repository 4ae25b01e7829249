"""Teams, accounts, channels, listing changes and daily metrics for the alerts tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from cvrtracker.alerts.models import AlertChannel, AlertRule
from cvrtracker.alerts.services import alert_rule_create
from cvrtracker.amazon.marketplaces import day_start
from cvrtracker.listings.changes import NewChange, listing_changes_store
from cvrtracker.listings.models import Listing, ListingChange
from cvrtracker.listings.services import listings_admit
from cvrtracker.metrics.datakiosk import TrendRow
from cvrtracker.metrics.report import AsinRow, DateRow, Money
from cvrtracker.metrics.services import metrics_ingest_account_days, metrics_merge_asin_days
from cvrtracker.metrics.tests.helpers import make_connection

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"


def connect(user, seller_id: str = "A1ALERTS"):
    """A seller account of the user's team with tracked listings B000000001..3."""
    connection = make_connection(user.membership.team, user, seller_id=seller_id)
    connection.marketplaces = [{"id": US, "name": "Amazon.com"}, {"id": CA, "name": "Amazon.ca"}]
    connection.save(update_fields=["marketplaces"])
    items = [
        {
            "sku": f"SKU-{n}",
            "summaries": [
                {
                    "marketplaceId": US,
                    "status": ["BUYABLE"],
                    "itemName": f"Product {n}",
                    "asin": f"B00000000{n}",
                }
            ],
        }
        for n in (1, 2, 3)
    ]
    listings_admit(connection=connection, marketplace_id=US, items=items)
    return connection


def channel(user, kind: str = AlertChannel.Kind.EMAIL, name: str = "Me") -> AlertChannel:
    """A member's email channel (created directly: the channel services are the
    delivery side's)."""
    return AlertChannel.objects.create(
        team=user.membership.team, kind=kind, name=name, member=user, created_by=user
    )


def rule(user, kind: str, params=None, *, channels=(), enabled=True, **scope) -> AlertRule:
    return alert_rule_create(
        user=user, kind=kind, params=params or {}, channels=channels, enabled=enabled, **scope
    )


_counter = iter(range(1_000_000))


def change(
    connection,
    field: str,
    payload: dict,
    *,
    asin: str = "B000000001",
    market: str = US,
    on: date | None = None,
    at: datetime | None = None,
    source: str = ListingChange.Source.OBSERVED,
) -> ListingChange:
    """Store one change through the production path; returns it."""
    on = on or date(2026, 11, 20)
    at = at or day_start(market, on) + timedelta(hours=12)
    listing = Listing.objects.filter(
        connection=connection, marketplace_id=market, asin=asin
    ).first()
    key = f"test:{next(_counter)}"
    listing_changes_store(
        connection=connection,
        changes=[
            NewChange(
                key=key,
                field=field,
                source=source,
                marketplace_id=market,
                day=on,
                seen_at=at,
                seen_after=at - timedelta(hours=1),
                payload=payload,
                asin=asin,
                sku=listing.sku if listing else "",
                listing=listing,
            )
        ],
    )
    return ListingChange.objects.get(connection=connection, key=key)


def store_days(connection, days: dict[date, dict[str, tuple[int, int, float]]], market=US):
    """Store per-ASIN days {day: {asin: (sessions, units, buy box %)}} and the account's
    days (their sums), through the Data Kiosk ingest path."""
    start, end = min(days), max(days)
    rows, account = [], []
    for day, by_asin in sorted(days.items()):
        for asin, (sessions, units, buy_box) in by_asin.items():
            rows.append(
                TrendRow(
                    day,
                    AsinRow(
                        asin,
                        asin,
                        None,
                        sessions,
                        sessions,
                        units,
                        units,
                        Money(units * 1000, "USD"),
                        buy_box,
                        0.0,
                    ),
                )
            )
        sessions = sum(v[0] for v in by_asin.values())
        units = sum(v[1] for v in by_asin.values())
        account.append(
            DateRow(day, sessions, sessions, units, units, Money(units * 1000, "USD"), 100.0, 0.0)
        )
    asins = sorted({a for by_asin in days.values() for a in by_asin})
    metrics_ingest_account_days(
        connection=connection,
        marketplace_id=market,
        start=start,
        end=end,
        rows=account,
        currency="USD",
    )
    metrics_merge_asin_days(
        connection=connection,
        marketplace_id=market,
        asins=asins,
        start=start,
        end=end,
        rows=rows,
        currency="USD",
    )
