"""The API's answers as msgspec Structs: the views build them, `api_view` encodes them,
and the OpenAPI document (openapi.py) takes its response schemas from the same
classes, so the document cannot describe a field the API does not send.

Units are part of every description: `conversion_rate` is a fraction (0.05 is
5%), `unit_session_percentage` and `buy_box_percentage` are percentages (5.0 is
5%), money is a decimal string in the currency's major unit.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from cvrtracker.impact.types import IMPROVED, NO_CLEAR_EFFECT, NOT_ENOUGH_DATA, WORSENED


def doc(description: str, **constraints) -> Meta:
    return Meta(description=description, **constraints)


Day = Annotated[str, doc("A day, YYYY-MM-DD.", pattern=r"^\d{4}-\d{2}-\d{2}$")]
Count = Annotated[int, Meta(ge=0)]
FRACTION = (
    "A fraction, not a percentage: units ordered ÷ sessions, 0.05 meaning 5%. It may "
    "exceed 1 when sessions order several units. Null without sessions (none, or pending)."
)
PERCENT = "A percentage from 0 to 100 (5.0 meaning 5%)."


class Money(Struct):
    """An amount in the currency's major unit, as a decimal string (never a float)."""

    amount: Annotated[str, doc("Decimal string, e.g. 1234.50.", pattern=r"^-?\d+(\.\d+)?$")]
    currency: Annotated[str, doc("ISO 4217 code, e.g. USD.")]


class Marketplace(Struct):
    id: Annotated[str, doc("Amazon's marketplace id, e.g. ATVPDKIKX0DER.")]
    name: str
    country_code: str
    currency: str
    participating: bool


class Connection(Struct):
    """A seller account connected to the team."""

    code: Annotated[str, doc("The connection's public id.", extra_json_schema={"format": "uuid"})]
    name: Annotated[str, doc("The store name, or the selling partner id when unknown.")]
    selling_partner_id: str
    region: Annotated[str, doc("The SP-API region: na, eu or fe.")]
    status: str
    marketplaces: list[Marketplace]


class Connections(Struct):
    connections: list[Connection]


class Window(Struct, kw_only=True):
    """The days an answer covers (inclusive), its start moved up to the plan's history."""

    marketplace: Annotated[str, doc("Amazon's marketplace id the numbers are for.")]
    start: Day
    end: Day
    history_start: Annotated[str, doc("The first day the team's plan shows, YYYY-MM-DD.")]
    history_limited: Annotated[bool, doc("True when the plan's history moved `start` up.")]
    history_message: Annotated[str, doc("Says how the plan cut the range.")] | UnsetType = UNSET


class ProductRow(Struct):
    """One ASIN's totals over the window: sums over its days, never averages of days."""

    asin: str
    parent_asin: Annotated[str, doc("The parent ASIN, or empty.")]
    title: Annotated[str, doc("The listing's title, empty while not synced yet.")]
    skus: Annotated[list[str], doc("The seller SKUs offering this ASIN in the marketplace.")]
    sessions: Annotated[int, doc("Sessions of the settled days (pending days have none).")]
    page_views: int
    units_ordered: Annotated[int, doc("Units ordered on every day of the window.")]
    total_order_items: int
    conversion_rate: Annotated[float | None, doc(FRACTION + " Settled days only.")]
    ordered_product_sales: Money
    buy_box_percentage: Annotated[float | None, doc(PERCENT + " Buy Box share of page views.")]
    days: Annotated[int, doc("Days of the window with data.")]
    pending_days: Annotated[int, doc("Days with sales but no traffic yet.")]


class Products(Window, kw_only=True):
    connection: str
    order_by: str
    limit: int
    products: list[ProductRow]


class DayRow(Struct):
    """One day. A pending day (sales reported, traffic not yet) has null traffic, never 0."""

    date: Day
    pending: bool
    sessions: int | None
    page_views: int | None
    units_ordered: int
    total_order_items: int
    conversion_rate: Annotated[float | None, doc(FRACTION)]
    ordered_product_sales: Money
    buy_box_percentage: Annotated[float | None, doc(PERCENT + " Buy Box share of page views.")]
    unit_session_percentage: Annotated[
        float | None,
        doc(
            "Amazon's unit session percentage as Amazon reports it: a percentage "
            "(5.0 meaning 5%), where `conversion_rate` is the same ratio as a fraction."
        ),
    ]


class Series(Window, kw_only=True):
    connection: str
    days: list[DayRow]


class ProductSeries(Series, kw_only=True):
    asin: str


class ImpactWindow(Struct):
    """A before or after window of the change: marketplace days, inclusive."""

    start: Day
    end: Day
    days: Annotated[int, doc("Days kept (stock-out, lost Buy Box and pending days left out).")]
    sessions: Count
    units: Count
    conversion_rate: Annotated[float | None, doc(FRACTION)]


class Impact(Struct):
    """What the change did to the product's conversion, with its 95% interval."""

    verdict: Literal[IMPROVED, WORSENED, NO_CLEAR_EFFECT, NOT_ENOUGH_DATA]  # type: ignore[valid-type]
    verdict_label: str
    lift: Annotated[
        float | None,
        doc("Relative change in conversion, a fraction: 0.12 is +12%. Null without estimate."),
    ]
    lift_low: Annotated[float | None, doc("Lower end of the 95% interval of `lift`.")]
    lift_high: Annotated[float | None, doc("Upper end of the 95% interval of `lift`.")]
    before: ImpactWindow | None
    after: ImpactWindow | None
    trend_adjusted: Annotated[
        bool, doc("True when adjusted for what moved the rest of the account in the same days.")
    ]
    shortened: Annotated[bool, doc("True when another change shortened a window.")]
    final: Annotated[bool, doc("False while the after window still grows (impact so far).")]
    as_of: Annotated[str, doc("The last day the estimate uses, YYYY-MM-DD.")]
    ready_on: Annotated[str | None, doc("When not_enough_data: the day a verdict is expected.")]
    units_per_month: Annotated[
        float | None, doc("Units a month gained (negative: lost) at the current traffic.")
    ]
    note: Annotated[str, doc("How it was computed and what limits it, in plain words.")]


class Change(Struct, kw_only=True):
    """One listing change. `before`/`after` keep the change's JSON values: text, a list,
    or for a price {"amount": "12.99", "currency": "USD"}; both null when unreadable."""

    id: str
    asin: str
    sku: str
    marketplace: str
    field: str
    position: Annotated[int | None, doc("The bullet or image position, else null.")]
    source: Annotated[str, doc("observed, inferred or derived.")]
    action: str | None
    before: Any
    after: Any
    day: Day
    seen_between: Annotated[
        list[str | None],
        doc("When the old value was last seen (null if never) and the new one first seen."),
    ]
    impact: Annotated[Impact | None, doc("Null until the change's impact is computed.")]
    pct: Annotated[float, doc("A price change in percent (-10.0 is 10% cheaper).")] | UnsetType = (
        UNSET
    )
    severity: str | UnsetType = UNSET
    suppresses: bool | UnsetType = UNSET
    from_position: int | UnsetType = UNSET


class Changes(Struct):
    connection: str
    start: str | None
    end: str | None
    history_start: str
    history_limited: bool
    limit: int
    changes: list[Change]
    next: Annotated[str | None, doc("Pass back as `cursor` for the next page; null on the last.")]


class Error(Struct, kw_only=True):
    """Every refusal: a message, and for a 400 the parameters at fault."""

    error: str
    fields: dict[str, list[str]] | UnsetType = UNSET
    upgrade_url: Annotated[str, doc("On a 403 of the plan: the billing page.")] | UnsetType = UNSET


ENCODER = msgspec.json.Encoder()
