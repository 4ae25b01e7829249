"""Every product's totals over the last 30 days whose traffic has arrived, from one Sales &
Traffic report over the range, stored on connect long before the daily backfill is done.

Amazon aggregates the by-ASIN section of GET_SALES_AND_TRAFFIC_REPORT over the
whole requested range (one row per ASIN, no date), which is why daily figures need
one report per day: 30 requests at one per 15 minutes. The same quirk makes one
request enough for the range's totals. amazon/sync/sales_traffic asks for it
first, services.metrics_store_range_totals stores it, and this module reads it.

A session is "all activity within a 24-hour period" (report schema), so a range's
by-ASIN sessions are the sum of its days' sessions, and so are page views, units
and sales: the totals add up like the daily rows would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from cvrtracker.amazon.models import SellerConnection

from .blocks import BUY_BOX, ORDER_ITEMS, PAGE_VIEWS, PERCENT_SCALE, SESSIONS, UNITS, BlockData
from .keys import ConnectionKeys
from .models import MetricRangeTotals
from .report import Money
from .selectors import ProductRow


@dataclass(frozen=True)
class QuickTotals:
    """Per-ASIN totals over [start, end] from one range report (no daily split).

    Each row's `days` is the number of days in the range. Its `pending_days` is the
    number of the range's days whose traffic had not arrived when the report was
    made (sales, no sessions: models#2955); the sync asks for a range that ends
    before those days (settings.AMAZON_QUICK_TOTALS_LAG_DAYS), so it is 0 unless
    Amazon's traffic was later than usual. Amazon gives no per-day split, so while it
    is above 0 the conversion of these rows counts units of days without sessions.
    """

    start: date
    end: date
    fetched_at: datetime
    currency: str
    rows: list[ProductRow]


def metrics_quick_totals(
    *, connection: SellerConnection, marketplace_id: str
) -> QuickTotals | None:
    """The latest range totals of the connection's marketplace, or None.

    Rows come sorted by units ordered (most first), then ASIN.
    """
    stored = MetricRangeTotals.objects.filter(
        connection=connection, marketplace_id=marketplace_id
    ).first()
    if stored is None:
        return None
    keys = ConnectionKeys(connection)
    raw = keys.data.decrypt(bytes(stored.values_enc), aad=stored.values_aad(keys.connection_code))
    index = stored.rows or []
    data = BlockData.decode(raw, keys=[r[0] for r in index], parents=[r[1] for r in index])
    ints = data.ints[:, :, 0].astype(np.int64)
    sales = data.sales[:, 0].tolist()
    days = (stored.end - stored.start).days + 1
    rows = []
    for i, asin in enumerate(data.keys):
        views = int(ints[PAGE_VIEWS, i])
        units = int(ints[UNITS, i])
        rows.append(
            ProductRow(
                asin=asin,
                parent_asin=data.parents[i],
                sessions=int(ints[SESSIONS, i]),
                page_views=views,
                units_ordered=units,
                settled_units_ordered=units,
                total_order_items=int(ints[ORDER_ITEMS, i]),
                ordered_product_sales=Money(int(sales[i]), data.currency),
                # The report's share is already weighted by page views over the range.
                buy_box_percentage=(
                    round(int(ints[BUY_BOX, i]) / PERCENT_SCALE, 2) if views else None
                ),
                days=days,
                pending_days=stored.pending_days,
            )
        )
    rows.sort(key=lambda r: (-r.units_ordered, r.asin))
    return QuickTotals(
        start=stored.start,
        end=stored.end,
        fetched_at=stored.fetched_at,
        currency=data.currency,
        rows=rows,
    )
