"""A seller with 60 known days of Sales & Traffic, ingested the way the sync stores them.

Every figure is a simple function of the day's index, so a test can add up what a
page should show by hand. The last three days are pending (sales in, no traffic).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cvrtracker.accounts.models import Team
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.metrics.services import metrics_ingest_days

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
# The marketplace day is 29 Nov 2026 (Los Angeles) at this instant: the last whole day is 28 Nov.
NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
LAST_DAY = date(2026, 11, 28)
FIRST_DAY = LAST_DAY - timedelta(days=59)
PENDING = {LAST_DAY - timedelta(days=n) for n in range(3)}
PRICE_CENTS = 1999
# Two products whose conversion moves by 20 points between the two 30-day periods,
# and one with too few sessions to be compared.
UP, DOWN, SMALL = "B0UP000001", "B0DOWN0001", "B0SMALL001"
PERIOD_START = LAST_DAY - timedelta(days=29)


def account_day(day: date) -> dict:
    """The account's figures on `day` (sessions etc. are 0 on pending days)."""
    i = (day - FIRST_DAY).days
    pending = day in PENDING
    units = 10 + i % 5
    return {
        "sessions": 0 if pending else 100 + i,
        "page_views": 0 if pending else 150 + 2 * i,
        "units": units,
        "sales": units * PRICE_CENTS,
        "buy_box": 0.0 if pending else float(90 + i % 3),
    }


def asin_day(asin: str, day: date) -> dict:
    current = day >= PERIOD_START
    pending = day in PENDING
    sessions, units = {
        UP: (10, 3 if current else 1),
        DOWN: (10, 1 if current else 3),
        SMALL: (2, 1),
    }[asin]
    return {
        "sessions": 0 if pending else sessions,
        "page_views": 0 if pending else sessions + 2,
        "units": units,
        "sales": units * PRICE_CENTS,
        "buy_box": 0.0 if pending else 100.0,
    }


def _sales(f: dict, currency: str) -> dict:
    return {
        "unitsOrdered": f["units"],
        "totalOrderItems": f["units"],
        "orderedProductSales": {"amount": f["sales"] / 100, "currencyCode": currency},
    }


def _traffic(f: dict) -> dict:
    rate = 100 * f["units"] / f["sessions"] if f["sessions"] else 0.0
    return {
        "sessions": f["sessions"],
        "pageViews": f["page_views"],
        "buyBoxPercentage": f["buy_box"],
        "unitSessionPercentage": round(rate, 2),
    }


def day_report(day: date, *, market: str = US, currency: str = "USD", scale: int = 1) -> dict:
    """A one-day CHILD Sales & Traffic document as Amazon sends it (parsed JSON)."""
    account = {k: v * scale for k, v in account_day(day).items()}
    account["buy_box"] = account_day(day)["buy_box"]
    rows = []
    for asin in (UP, DOWN, SMALL):
        f = asin_day(asin, day)
        rows.append(
            {
                "parentAsin": asin,
                "childAsin": asin,
                "sku": f"SKU-{asin}",
                "salesByAsin": _sales(f, currency),
                "trafficByAsin": _traffic(f),
            }
        )
    return {
        "reportSpecification": {
            "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
            "marketplaceIds": [market],
            "dataStartTime": day.isoformat(),
            "dataEndTime": day.isoformat(),
            "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
        },
        "salesAndTrafficByDate": [
            {
                "date": day.isoformat(),
                "salesByDate": _sales(account, currency),
                "trafficByDate": _traffic(account),
            }
        ],
        "salesAndTrafficByAsin": rows,
    }


def make_connection(team: Team, seller_id: str = "A1OVERVIEW", **fields) -> SellerConnection:
    fields.setdefault("marketplaces", [{"id": US, "name": "Amazon.com"}])
    connection = SellerConnection(team=team, region="NA", selling_partner_id=seller_id, **fields)
    connection.create_data_key()
    connection.save()
    return connection


def ingest(
    connection: SellerConnection,
    *,
    market: str = US,
    currency: str = "USD",
    scale: int = 1,
    days: int = 60,
) -> None:
    """The last `days` of the 60 known days, stored as the sync stores one-day reports."""
    wanted = [LAST_DAY - timedelta(days=n) for n in range(days)]
    metrics_ingest_days(
        connection=connection,
        marketplace_id=market,
        reports={d: day_report(d, market=market, currency=currency, scale=scale) for d in wanted},
    )


def expected_totals(start: date, end: date) -> dict:
    """What the account's days in [start, end] add up to, by hand."""
    out = {"sessions": 0, "page_views": 0, "units": 0, "settled_units": 0, "sales": 0}
    out["bb_weight"] = 0.0
    out["days"] = out["settled_days"] = 0
    day = max(start, FIRST_DAY)
    while day <= end:
        f = account_day(day)
        out["days"] += 1
        out["units"] += f["units"]
        out["sales"] += f["sales"]
        if day not in PENDING:
            out["settled_days"] += 1
            out["sessions"] += f["sessions"]
            out["page_views"] += f["page_views"]
            out["settled_units"] += f["units"]
            out["bb_weight"] += f["buy_box"] * f["page_views"]
        day += timedelta(days=1)
    return out
