"""Parse GET_SALES_AND_TRAFFIC_REPORT documents into typed rows, all or nothing.

The document is checked whole before anything is returned: a corrupt gzip, bad
JSON, a missing section or field, or a value of the wrong type raises one
ReportFormatError, so a caller never stores half a report.

Amazon's quirks handled here:
- the by-ASIN section has no date: it is aggregated over the whole requested
  range, which is why the sync asks for one report per day;
- percentages are percent values (2.54 means 2.54 %);
- sessions arrive days after sales, so a day with sales but no sessions yet is
  "pending", never a day with zero traffic.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import msgspec

# Currencies of Amazon marketplaces without minor units; all others have cents.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})


class ReportFormatError(Exception):
    """The report document is not a well-formed Sales & Traffic report."""


class Money(NamedTuple):
    amount_minor: int  # cents (or yen): exact, never a float
    currency: str


# Rows are plain (not frozen) slotted dataclasses: a day of a big seller has
# 50,000 of them, and frozen dataclasses cost several times more to build.
@dataclass(slots=True)
class DateRow:
    """One salesAndTrafficByDate row (the whole account on one day, week or month)."""

    day: date
    sessions: int
    page_views: int
    units_ordered: int
    total_order_items: int
    ordered_product_sales: Money
    buy_box_percentage: float
    unit_session_percentage: float

    @property
    def pending(self) -> bool:
        return is_pending(units=self.units_ordered, sessions=self.sessions)


@dataclass(slots=True)
class AsinRow:
    """One salesAndTrafficByAsin row: totals over the report's whole range."""

    parent_asin: str
    child_asin: str | None
    sku: str | None
    sessions: int
    page_views: int
    units_ordered: int
    total_order_items: int
    ordered_product_sales: Money
    buy_box_percentage: float
    unit_session_percentage: float

    @property
    def asin(self) -> str:
        return self.child_asin or self.parent_asin


@dataclass(frozen=True, slots=True)
class SalesTrafficReport:
    start: date
    end: date
    date_granularity: str
    asin_granularity: str
    marketplace_ids: tuple[str, ...]
    by_date: tuple[DateRow, ...]
    by_asin: tuple[AsinRow, ...]

    @property
    def currency(self) -> str | None:
        for row in self.by_date:
            return row.ordered_product_sales.currency
        for row in self.by_asin:
            return row.ordered_product_sales.currency
        return None

    @property
    def pending(self) -> bool:
        """True when the report's traffic has not arrived yet (sales but no sessions)."""
        if self.by_date:
            return any(row.pending for row in self.by_date)
        return is_pending(
            units=sum(r.units_ordered for r in self.by_asin),
            sessions=sum(r.sessions for r in self.by_asin),
        )


def is_pending(*, units: int, sessions: int) -> bool:
    """Sales without sessions mean the traffic is still on its way, not zero visits."""
    return units > 0 and sessions == 0


def parse_sales_traffic(document: bytes | dict) -> SalesTrafficReport:
    """The typed report from raw (gzip'd or plain) bytes or from parsed JSON."""
    if isinstance(document, bytes | bytearray):
        data = _decompress(document)
        report = _typed_report(data)
        if report is not None:
            return report
        # Something is unusual: the careful parser accepts what it can and names
        # the failing path of what it cannot.
        document = _load_json(data)
        del data
    return _Parser().report(document)


def _decompress(data: bytes | bytearray) -> bytes | bytearray:
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise ReportFormatError(f"the report document is not valid gzip: {error}") from None


def _load_json(data: bytes | bytearray) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise ReportFormatError(f"the report document is not valid JSON: {error}") from None


# -- the lean path: msgspec structs instead of a dict tree ---------------------------------
#
# A 50,000-ASIN day is 27 MB of JSON; json.loads makes ~70 MB of dicts of it, more
# than everything else a worker holds. msgspec decodes straight into these structs
# (a third of the memory, several times faster) and ignores fields we do not read.
# Anything these types or the checks below do not expect sends the document to the
# careful parser, so both paths accept and refuse exactly the same documents.


class _SMoney(msgspec.Struct):
    amount: float
    currencyCode: str  # noqa: N815 - Amazon's field names


class _SSalesAsin(msgspec.Struct):
    unitsOrdered: int  # noqa: N815
    totalOrderItems: int  # noqa: N815
    orderedProductSales: _SMoney  # noqa: N815


class _STrafficAsin(msgspec.Struct):
    sessions: int
    pageViews: int  # noqa: N815
    buyBoxPercentage: float  # noqa: N815
    unitSessionPercentage: float  # noqa: N815


class _SAsinRow(msgspec.Struct):
    parentAsin: str  # noqa: N815
    salesByAsin: _SSalesAsin  # noqa: N815
    trafficByAsin: _STrafficAsin  # noqa: N815
    childAsin: str | None = None  # noqa: N815
    sku: str | None = None


class _SDocument(msgspec.Struct):
    reportSpecification: dict[str, Any]  # noqa: N815
    salesAndTrafficByDate: list[dict[str, Any]]  # noqa: N815
    salesAndTrafficByAsin: list[_SAsinRow]  # noqa: N815


_DECODER = msgspec.json.Decoder(_SDocument)


def _typed_report(data: bytes | bytearray) -> SalesTrafficReport | None:
    """The report through the lean path, or None to let the careful parser decide."""
    try:
        doc = _DECODER.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    rows = _struct_asin_rows(doc.salesAndTrafficByAsin)
    if rows is None:
        return None
    # The specification and the by-date rows are small: the careful parser reads them.
    return _Parser().report(
        {
            "reportSpecification": doc.reportSpecification,
            "salesAndTrafficByDate": doc.salesAndTrafficByDate,
            "salesAndTrafficByAsin": [],
        },
        rows=rows,
    )


def _struct_asin_rows(rows: list[_SAsinRow]) -> tuple[AsinRow, ...] | None:
    out = []
    append = out.append
    for row in rows:
        sales, traffic = row.salesByAsin, row.trafficByAsin
        money = sales.orderedProductSales
        parent, child, sku = row.parentAsin, row.childAsin, row.sku
        sessions, views = traffic.sessions, traffic.pageViews
        units, items = sales.unitsOrdered, sales.totalOrderItems
        buy_box, unit_session = traffic.buyBoxPercentage, traffic.unitSessionPercentage
        amount, currency = money.amount, money.currencyCode
        if (
            not parent
            or child == ""
            or sku == ""
            or min(sessions, views, units, items) < 0
            or buy_box < 0
            or unit_session < 0
            or len(currency) != 3
            or currency in ZERO_DECIMAL_CURRENCIES
            or not abs(amount) < 1e12
        ):
            return None
        append(
            AsinRow(
                parent,
                child,
                sku,
                sessions,
                views,
                units,
                items,
                # Exact for the two decimals Amazon sends: round() absorbs the
                # binary noise of 0.29 * 100 = 28.999999999999996.
                Money(round(amount * 100), currency),
                buy_box,
                unit_session,
            )
        )
    return tuple(out)


class _Parser:
    """Field readers that name the failing path in their error.

    Errors name the path, never the value: the sync logs them and keeps them in
    plaintext as the day's last error, and a value may be a seller's sales,
    traffic or currency, which we only ever store encrypted.
    """

    def report(self, raw: Any, *, rows: tuple[AsinRow, ...] | None = None) -> SalesTrafficReport:
        """`rows`: by-ASIN rows already read by the lean path."""
        doc = self.obj(raw, "document")
        spec = self.obj(self.field(doc, "reportSpecification", "document"), "reportSpecification")
        report_type = spec.get("reportType")
        if report_type is not None and report_type != "GET_SALES_AND_TRAFFIC_REPORT":
            raise ReportFormatError(f"not a Sales & Traffic report: {report_type!r}")
        options = spec.get("reportOptions") or {}
        if not isinstance(options, dict):
            raise ReportFormatError("reportSpecification.reportOptions is not an object")
        markets = self.field(spec, "marketplaceIds", "reportSpecification")
        if not isinstance(markets, list) or not all(isinstance(m, str) for m in markets):
            raise ReportFormatError("reportSpecification.marketplaceIds is not a list of strings")
        by_date = self.field(doc, "salesAndTrafficByDate", "document")
        by_asin = self.field(doc, "salesAndTrafficByAsin", "document")
        for name, section in (
            ("salesAndTrafficByDate", by_date),
            ("salesAndTrafficByAsin", by_asin),
        ):
            if not isinstance(section, list):
                raise ReportFormatError(f"{name} is not a list")
        return SalesTrafficReport(
            start=self.day(
                self.field(spec, "dataStartTime", "reportSpecification"), "dataStartTime"
            ),
            end=self.day(self.field(spec, "dataEndTime", "reportSpecification"), "dataEndTime"),
            date_granularity=str(options.get("dateGranularity", "DAY")),
            asin_granularity=str(options.get("asinGranularity", "PARENT")),
            marketplace_ids=tuple(markets),
            by_date=tuple(
                self.date_row(r, f"salesAndTrafficByDate[{i}]") for i, r in enumerate(by_date)
            ),
            by_asin=self.asin_rows(by_asin) if rows is None else rows,
        )

    def asin_rows(self, rows: list) -> tuple[AsinRow, ...]:
        return tuple(self.asin_row(r, f"salesAndTrafficByAsin[{i}]") for i, r in enumerate(rows))

    def date_row(self, raw: Any, where: str) -> DateRow:
        row = self.obj(raw, where)
        sales = self.obj(self.field(row, "salesByDate", where), f"{where}.salesByDate")
        traffic = self.obj(self.field(row, "trafficByDate", where), f"{where}.trafficByDate")
        sw, tw = f"{where}.salesByDate", f"{where}.trafficByDate"
        return DateRow(
            day=self.day(self.field(row, "date", where), f"{where}.date"),
            sessions=self.count(traffic, "sessions", tw),
            page_views=self.count(traffic, "pageViews", tw),
            units_ordered=self.count(sales, "unitsOrdered", sw),
            total_order_items=self.count(sales, "totalOrderItems", sw),
            ordered_product_sales=self.money(sales, "orderedProductSales", sw),
            buy_box_percentage=self.percent(traffic, "buyBoxPercentage", tw),
            unit_session_percentage=self.percent(traffic, "unitSessionPercentage", tw),
        )

    def asin_row(self, raw: Any, where: str) -> AsinRow:
        row = self.obj(raw, where)
        sales = self.obj(self.field(row, "salesByAsin", where), f"{where}.salesByAsin")
        traffic = self.obj(self.field(row, "trafficByAsin", where), f"{where}.trafficByAsin")
        sw, tw = f"{where}.salesByAsin", f"{where}.trafficByAsin"
        return AsinRow(
            parent_asin=self.text(row, "parentAsin", where),
            child_asin=self.text(row, "childAsin", where, required=False),
            sku=self.text(row, "sku", where, required=False),
            sessions=self.count(traffic, "sessions", tw),
            page_views=self.count(traffic, "pageViews", tw),
            units_ordered=self.count(sales, "unitsOrdered", sw),
            total_order_items=self.count(sales, "totalOrderItems", sw),
            ordered_product_sales=self.money(sales, "orderedProductSales", sw),
            buy_box_percentage=self.percent(traffic, "buyBoxPercentage", tw),
            unit_session_percentage=self.percent(traffic, "unitSessionPercentage", tw),
        )

    # -- field readers -----------------------------------------------------------

    @staticmethod
    def obj(value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            raise ReportFormatError(f"{where} is not an object")
        return value

    @staticmethod
    def field(obj: dict, name: str, where: str) -> Any:
        try:
            return obj[name]
        except KeyError:
            raise ReportFormatError(f"{where}.{name} is missing") from None

    def text(self, obj: dict, name: str, where: str, *, required: bool = True) -> str | None:
        value = self.field(obj, name, where) if required else obj.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise ReportFormatError(f"{where}.{name} is not a non-empty string")
        return value

    def count(self, obj: dict, name: str, where: str) -> int:
        value = self.field(obj, name, where)
        # Integral floats (12.0) are accepted: some JSON writers emit them.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ReportFormatError(f"{where}.{name} is not a non-negative integer")
        return value

    def percent(self, obj: dict, name: str, where: str) -> float:
        value = self.field(obj, name, where)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ReportFormatError(f"{where}.{name} is not a percentage")
        return float(value)

    def money(self, obj: dict, name: str, where: str) -> Money:
        value = self.obj(self.field(obj, name, where), f"{where}.{name}")
        amount = self.field(value, "amount", f"{where}.{name}")
        currency = self.field(value, "currencyCode", f"{where}.{name}")
        if not isinstance(currency, str) or len(currency) != 3:
            raise ReportFormatError(f"{where}.{name}.currencyCode is not a currency")
        if isinstance(amount, bool) or not isinstance(amount, int | float | str):
            raise ReportFormatError(f"{where}.{name}.amount is not a number")
        return Money(to_minor(amount, currency, where=f"{where}.{name}.amount"), currency)

    @staticmethod
    def day(value: Any, where: str) -> date:
        if not isinstance(value, str):
            raise ReportFormatError(f"{where} is not a date")
        try:
            # dataStartTime may carry a time part; Amazon ignores it and so do we.
            return date.fromisoformat(value[:10])
        except ValueError:
            raise ReportFormatError(f"{where} is not a date") from None


def to_minor(amount: int | float | str, currency: str, *, where: str = "amount") -> int:
    """An amount in minor units (cents), exact for the decimals Amazon sends."""
    try:
        # Through str: 0.1 + 0.2 style float noise must not round a cent away.
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ReportFormatError(f"{where} is not a number") from None
    if not value.is_finite():
        raise ReportFormatError(f"{where} is not a finite number")
    exponent = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    return int((value.scaleb(exponent)).to_integral_value(rounding="ROUND_HALF_EVEN"))
