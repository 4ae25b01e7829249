"""What the API answers: plain dicts of JSON types, built from models and selector rows.

Money leaves as a decimal string in the currency's major unit ("1234.50"), never
a float, so that a spreadsheet sums it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.listings.selectors import ChangeRow
from cvrtracker.metrics.report import ZERO_DECIMAL_CURRENCIES, Money
from cvrtracker.metrics.selectors import DayMetrics, ProductRow


def money_json(money: Money) -> dict:
    exponent = 0 if money.currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    amount = Decimal(money.amount_minor).scaleb(-exponent)
    return {"amount": f"{amount:.{exponent}f}", "currency": money.currency}


def connection_json(connection: SellerConnection) -> dict:
    return {
        "code": str(connection.code),
        # As Settings → Amazon shows it: the store name needs the connection's key,
        # which a revoked or disconnected connection may no longer have.
        "name": (connection.store_name if connection.is_active else "")
        or connection.selling_partner_id,
        "selling_partner_id": connection.selling_partner_id,
        "region": connection.region,
        "status": connection.status,
        "marketplaces": [
            {
                "id": m.get("id", ""),
                "name": m.get("name", ""),
                "country_code": m.get("countryCode", ""),
                "currency": m.get("defaultCurrencyCode", ""),
                "participating": bool(m.get("isParticipating", True)),
            }
            for m in connection.marketplaces
        ],
    }


def product_row_json(row: ProductRow) -> dict:
    return {
        "asin": row.asin,
        "parent_asin": row.parent_asin,
        "sessions": row.sessions,
        "page_views": row.page_views,
        "units_ordered": row.units_ordered,
        "total_order_items": row.total_order_items,
        "conversion_rate": row.conversion_rate,
        "ordered_product_sales": money_json(row.ordered_product_sales),
        "buy_box_percentage": row.buy_box_percentage,
        "days": row.days,
        "pending_days": row.pending_days,
    }


def day_json(day: DayMetrics) -> dict:
    return {
        "date": day.day.isoformat(),
        "pending": day.pending,
        "sessions": day.sessions,
        "page_views": day.page_views,
        "units_ordered": day.units_ordered,
        "total_order_items": day.total_order_items,
        "conversion_rate": day.conversion_rate,
        "ordered_product_sales": money_json(day.ordered_product_sales),
        "buy_box_percentage": day.buy_box_percentage,
        "unit_session_percentage": day.unit_session_percentage,
    }


@dataclass(frozen=True)
class Window:
    """The days an answer covers: the requested range, its start moved up to the
    first day the plan shows (`history_start`)."""

    marketplace: str
    start: date
    end: date
    requested_start: date
    history_start: date

    @property
    def empty(self) -> bool:
        """The plan shows none of the requested days."""
        return self.start > self.end

    def json(self) -> dict:
        """The window actually served, and whether the plan's history cut its start."""
        window = {
            "marketplace": self.marketplace,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "history_start": self.history_start.isoformat(),
            "history_limited": self.requested_start < self.history_start,
        }
        if self.empty:
            window["history_message"] = (
                f"Your plan shows data from {self.history_start.isoformat()} on, and this "
                "whole range is older: nothing is shown. The older days are kept, not deleted."
            )
        elif self.requested_start < self.history_start:
            window["history_message"] = (
                f"Your plan shows data from {self.history_start.isoformat()} on, so the range "
                f"starts there instead of {self.requested_start.isoformat()}. The older days "
                "are kept, not deleted."
            )
        return window


# What a change's payload may carry besides action, before and after (listings/changes.py).
CHANGE_EXTRAS = ("pct", "severity", "suppresses", "from_position")


def change_json(row: ChangeRow) -> dict:
    """One listing change. `before`/`after` keep the payload's JSON values (a price is
    {"amount": "12.99", "currency": "USD"}); null for both when the account's key is gone."""
    change, payload = row.change, row.payload or {}
    body = {
        "id": str(change.code),
        "asin": change.asin,
        "sku": change.sku,
        "marketplace": change.marketplace_id,
        "field": change.field,
        "position": change.position,
        "source": change.source,
        "action": payload.get("action"),
        "before": payload.get("before"),
        "after": payload.get("after"),
        "day": change.day.isoformat(),
        "seen_between": [
            change.seen_after.isoformat() if change.seen_after else None,
            change.seen_at.isoformat(),
        ],
    }
    body.update({extra: payload[extra] for extra in CHANGE_EXTRAS if extra in payload})
    return body
