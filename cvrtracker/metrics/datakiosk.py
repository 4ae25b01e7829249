"""Parse Data Kiosk Sales and Traffic documents (JSONL) into typed day rows, all or nothing.

A data document is JSONL: one JSON object per line, each one item of the queried list
with the fields the query selected (Data Kiosk use case guide,
developer-docs.amazon.com/sp-api/docs/data-kiosk-api-v2023-11-15-use-case-guide). The
queries below select exactly what the parser reads; field names are the schema's
(datakiosk-schema_analytics_salesAndTraffic_2024-04-24.graphql). Every line is checked
before anything is returned, so a cut or damaged document raises one ReportFormatError
and the caller stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .report import AsinRow, DateRow, ReportFormatError, _Parser

ROOT = "analytics_salesAndTraffic_2024_04_24"
_SALES = "sales { unitsOrdered totalOrderItems orderedProductSales { amount currencyCode } }"
_TRAFFIC = "traffic { sessions pageViews buyBoxPercentage unitSessionPercentage }"


def trends_query(filters: Sequence[tuple[str, Sequence[str]]], start: date, end: date) -> str:
    """salesAndTrafficTrends by day and child ASIN; `filters` are (marketplace, ≤30 ASINs)."""
    listed = ", ".join(
        f'{{marketplaceId: "{market}", asins: [{", ".join(json.dumps(a) for a in asins)}]}}'
        for market, asins in filters
    )
    return (
        f"query {{ {ROOT} {{ salesAndTrafficTrends(asinAggregation: CHILD, "
        f'dateAggregation: DAY, startDate: "{start}", endDate: "{end}", filters: [{listed}]) '
        f"{{ startDate endDate marketplaceId parentAsin childAsin {_SALES} {_TRAFFIC} }} }} }}"
    )


def by_date_query(marketplace_id: str, start: date, end: date) -> str:
    """salesAndTrafficByDate by day: the account's series in one marketplace."""
    return (
        f"query {{ {ROOT} {{ salesAndTrafficByDate(aggregateBy: DAY, "
        f'startDate: "{start}", endDate: "{end}", marketplaceIds: [{json.dumps(marketplace_id)}]) '
        f"{{ startDate endDate marketplaceId {_SALES} {_TRAFFIC} }} }} }}"
    )


@dataclass(slots=True)
class TrendRow:
    day: date
    row: AsinRow


def _lines(document: bytes) -> list[tuple[int, dict]]:
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError:
        raise ReportFormatError("the Data Kiosk document is not UTF-8") from None
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line)))
        except ValueError:
            raise ReportFormatError(
                f"the Data Kiosk document is not valid JSONL (line {number} is cut or damaged)"
            ) from None
    return out


def _day_of(parser: _Parser, item: dict, where: str, start: date, end: date) -> date:
    first = parser.day(parser.field(item, "startDate", where), f"{where}.startDate")
    last = parser.day(parser.field(item, "endDate", where), f"{where}.endDate")
    if first != last:
        raise ReportFormatError(f"{where} covers {first}..{last}, not one day")
    if not start <= first <= end:
        raise ReportFormatError(f"{where} is dated outside the query's range")
    return first


def _check_market(parser: _Parser, item: dict, where: str, marketplace_id: str) -> None:
    if parser.text(item, "marketplaceId", where) != marketplace_id:
        raise ReportFormatError(f"{where} is for another marketplace")


def _check_currency(currency: str, expected: str | None, where: str) -> None:
    if expected and currency != expected:
        raise ReportFormatError(f"{where} is in another currency than the marketplace's")


def parse_trends(
    document: bytes,
    *,
    marketplace_id: str,
    asins: Sequence[str],
    start: date,
    end: date,
    currency: str | None,
) -> list[TrendRow]:
    """The rows of a salesAndTrafficTrends (DAY, CHILD) document for the queried ASINs."""
    parser, wanted, seen = _Parser(), set(asins), set()
    out = []
    for number, raw in _lines(document):
        where = f"line {number}"
        item = parser.obj(raw, where)
        _check_market(parser, item, where, marketplace_id)
        day = _day_of(parser, item, where, start, end)
        sales = parser.obj(parser.field(item, "sales", where), f"{where}.sales")
        traffic = parser.obj(parser.field(item, "traffic", where), f"{where}.traffic")
        sw, tw = f"{where}.sales", f"{where}.traffic"
        row = AsinRow(
            parent_asin=parser.text(item, "parentAsin", where),
            child_asin=parser.text(item, "childAsin", where),
            sku=None,
            sessions=parser.count(traffic, "sessions", tw),
            page_views=parser.count(traffic, "pageViews", tw),
            units_ordered=parser.count(sales, "unitsOrdered", sw),
            total_order_items=parser.count(sales, "totalOrderItems", sw),
            ordered_product_sales=parser.money(sales, "orderedProductSales", sw),
            buy_box_percentage=parser.percent(traffic, "buyBoxPercentage", tw),
            unit_session_percentage=parser.percent(traffic, "unitSessionPercentage", tw),
        )
        _check_currency(row.ordered_product_sales.currency, currency, sw)
        if row.child_asin not in wanted:
            raise ReportFormatError(f"{where} is for an ASIN the query did not ask for")
        if (row.child_asin, day) in seen:
            raise ReportFormatError(f"{where} repeats an ASIN and day")
        seen.add((row.child_asin, day))
        out.append(TrendRow(day, row))
    return out


def parse_by_date(
    document: bytes, *, marketplace_id: str, start: date, end: date, currency: str | None
) -> list[DateRow]:
    """The rows of a salesAndTrafficByDate (DAY) document."""
    parser, seen = _Parser(), set()
    out = []
    for number, raw in _lines(document):
        where = f"line {number}"
        item = parser.obj(raw, where)
        _check_market(parser, item, where, marketplace_id)
        day = _day_of(parser, item, where, start, end)
        sales = parser.obj(parser.field(item, "sales", where), f"{where}.sales")
        traffic = parser.obj(parser.field(item, "traffic", where), f"{where}.traffic")
        sw, tw = f"{where}.sales", f"{where}.traffic"
        row = DateRow(
            day=day,
            sessions=parser.count(traffic, "sessions", tw),
            page_views=parser.count(traffic, "pageViews", tw),
            units_ordered=parser.count(sales, "unitsOrdered", sw),
            total_order_items=parser.count(sales, "totalOrderItems", sw),
            ordered_product_sales=parser.money(sales, "orderedProductSales", sw),
            buy_box_percentage=parser.percent(traffic, "buyBoxPercentage", tw),
            unit_session_percentage=parser.percent(traffic, "unitSessionPercentage", tw),
        )
        _check_currency(row.ordered_product_sales.currency, currency, sw)
        if day in seen:
            raise ReportFormatError(f"{where} repeats a day")
        seen.add(day)
        out.append(row)
    return out
