"""What the API answers, built from models and selector rows as the Structs of schemas.py.

Money leaves as a decimal string in the currency's major unit ("1234.50"), never
a float, so that a spreadsheet sums it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.api import schemas
from cvrtracker.impact.types import Impact, ImpactWindow
from cvrtracker.listings.selectors import ChangeRow
from cvrtracker.metrics.report import ZERO_DECIMAL_CURRENCIES, Money
from cvrtracker.metrics.selectors import DayMetrics, ProductRow


def money_json(money: Money) -> schemas.Money:
    exponent = 0 if money.currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    amount = Decimal(money.amount_minor).scaleb(-exponent)
    return schemas.Money(amount=f"{amount:.{exponent}f}", currency=money.currency)


def connection_json(connection: SellerConnection) -> schemas.Connection:
    return schemas.Connection(
        code=str(connection.code),
        # As Settings → Amazon shows it: the store name needs the connection's key,
        # which a revoked or disconnected connection may no longer have.
        name=(connection.store_name if connection.is_active else "")
        or connection.selling_partner_id,
        selling_partner_id=connection.selling_partner_id,
        region=connection.region,
        status=connection.status,
        marketplaces=[
            schemas.Marketplace(
                id=m.get("id", ""),
                name=m.get("name", ""),
                country_code=m.get("countryCode", ""),
                currency=m.get("defaultCurrencyCode", ""),
                participating=bool(m.get("isParticipating", True)),
            )
            for m in connection.marketplaces
        ],
    )


@dataclass(frozen=True)
class ProductLabel:
    """What the seller calls an ASIN: its title and the SKUs that offer it."""

    title: str
    skus: list[str]


NO_LABEL = ProductLabel(title="", skus=[])


def product_row_json(row: ProductRow, label: ProductLabel = NO_LABEL) -> schemas.ProductRow:
    return schemas.ProductRow(
        asin=row.asin,
        parent_asin=row.parent_asin,
        title=label.title,
        skus=label.skus,
        sessions=row.sessions,
        page_views=row.page_views,
        units_ordered=row.units_ordered,
        total_order_items=row.total_order_items,
        conversion_rate=row.conversion_rate,
        ordered_product_sales=money_json(row.ordered_product_sales),
        buy_box_percentage=row.buy_box_percentage,
        days=row.days,
        pending_days=row.pending_days,
    )


def day_json(day: DayMetrics) -> schemas.DayRow:
    return schemas.DayRow(
        date=day.day.isoformat(),
        pending=day.pending,
        sessions=day.sessions,
        page_views=day.page_views,
        units_ordered=day.units_ordered,
        total_order_items=day.total_order_items,
        conversion_rate=day.conversion_rate,
        ordered_product_sales=money_json(day.ordered_product_sales),
        buy_box_percentage=day.buy_box_percentage,
        unit_session_percentage=day.unit_session_percentage,
    )


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


def _impact_window_json(window: ImpactWindow | None) -> schemas.ImpactWindow | None:
    if window is None:
        return None
    return schemas.ImpactWindow(
        start=window.start.isoformat(),
        end=window.end.isoformat(),
        days=window.days,
        sessions=window.sessions,
        units=window.units,
        conversion_rate=window.conversion_rate,
    )


def impact_json(impact: Impact | None) -> schemas.Impact | None:
    if impact is None:
        return None
    return schemas.Impact(
        verdict=impact.verdict,
        verdict_label=impact.verdict_label,
        lift=impact.lift,
        lift_low=impact.lift_low,
        lift_high=impact.lift_high,
        before=_impact_window_json(impact.before),
        after=_impact_window_json(impact.after),
        trend_adjusted=impact.trend_adjusted,
        shortened=impact.shortened,
        final=impact.final,
        as_of=impact.as_of.isoformat(),
        ready_on=impact.ready_on.isoformat() if impact.ready_on else None,
        units_per_month=impact.units_per_month,
        note=impact.note,
    )


# What a change's payload may carry besides action, before and after (listings/changes.py).
CHANGE_EXTRAS = ("pct", "severity", "suppresses", "from_position")


def change_json(row: ChangeRow, impact: Impact | None = None) -> schemas.Change:
    """One listing change. `before`/`after` keep the payload's JSON values (a price is
    {"amount": "12.99", "currency": "USD"}); null for both when the account's key is gone."""
    change, payload = row.change, row.payload or {}
    return schemas.Change(
        id=str(change.code),
        asin=change.asin,
        sku=change.sku,
        marketplace=change.marketplace_id,
        field=change.field,
        position=change.position,
        source=change.source,
        action=payload.get("action"),
        before=payload.get("before"),
        after=payload.get("after"),
        day=change.day.isoformat(),
        seen_between=[
            change.seen_after.isoformat() if change.seen_after else None,
            change.seen_at.isoformat(),
        ],
        impact=impact_json(impact),
        **{extra: payload[extra] for extra in CHANGE_EXTRAS if extra in payload},
    )
