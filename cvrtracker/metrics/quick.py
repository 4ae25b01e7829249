"""Every product's totals over the last 30 days from one Sales & Traffic report over the
range, stored on connect long before the daily backfill is done.

Placeholder (see the brief): the helper that owns the first-minute totals
replaces metrics_quick_totals with the stored report's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cvrtracker.amazon.models import SellerConnection

from .selectors import ProductRow


@dataclass(frozen=True)
class QuickTotals:
    """Per-ASIN totals over [start, end] from one range report (no daily split)."""

    start: date
    end: date
    fetched_at: datetime
    currency: str
    rows: list[ProductRow]


def metrics_quick_totals(
    *, connection: SellerConnection, marketplace_id: str
) -> QuickTotals | None:
    """The latest range totals of the connection's marketplace, or None."""
    return None
