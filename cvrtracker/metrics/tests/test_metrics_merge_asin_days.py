"""metrics_merge_asin_days: a ≤30-ASIN Data Kiosk answer merged into whole-day blocks."""

from __future__ import annotations

from datetime import date

import pytest

from cvrtracker.metrics.datakiosk import TrendRow, parse_by_date, parse_trends, trends_query
from cvrtracker.metrics.report import AsinRow, Money, ReportFormatError
from cvrtracker.metrics.selectors import metrics_product_series
from cvrtracker.metrics.services import (
    metrics_ingest_account_days,
    metrics_ingest_day,
    metrics_merge_asin_days,
)
from cvrtracker.test import BaseTestCase

from .helpers import MARKET, SIM_DAYS, dump_blocks, make_connection, report_json, sim_payloads

DAY = SIM_DAYS[0]  # a settled day of the simulator's report


def row(asin: str, *, sessions: int, units: int, cents: int) -> AsinRow:
    return AsinRow(
        parent_asin=asin,
        child_asin=asin,
        sku=None,
        sessions=sessions,
        page_views=sessions + 1,
        units_ordered=units,
        total_order_items=units,
        ordered_product_sales=Money(cents, "USD"),
        buy_box_percentage=100.0,
        unit_session_percentage=round(100 * units / sessions, 2) if sessions else 0.0,
    )


class MergeTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        metrics_ingest_day(
            connection=self.connection,
            marketplace_id=MARKET,
            day=DAY,
            report=sim_payloads()["days"][DAY],
        )
        by_asin = report_json(sim_payloads()["days"][DAY])["salesAndTrafficByAsin"]
        self.asins = [r["childAsin"] for r in by_asin]

    def series(self, asin: str):
        return metrics_product_series(
            connection=self.connection, asin=asin, start=DAY, end=DAY, marketplace_id=MARKET
        )[0]

    def merge(self, owned, rows):
        return metrics_merge_asin_days(
            connection=self.connection,
            marketplace_id=MARKET,
            asins=owned,
            start=DAY,
            end=DAY,
            rows=[TrendRow(DAY, r) for r in rows],
            currency="USD",
        )

    def test_it_sets_the_queried_asins_and_keeps_every_other(self):
        first, second, third = self.asins[:3]
        others = {a: self.series(a) for a in self.asins[2:]}
        # `second` was queried and has no row that day: no activity, its cell is cleared.
        self.merge([first, second], [row(first, sessions=7, units=2, cents=1998)])
        assert self.series(first).sessions == 7
        assert self.series(first).ordered_product_sales == Money(1998, "USD")
        assert self.series(second).sessions == 0 and self.series(second).units_ordered == 0
        assert {a: self.series(a) for a in self.asins[2:]} == others
        assert self.series(third).day == DAY

    def test_running_it_twice_stores_the_same_blocks(self):
        owned = self.asins[:4]
        rows = [row(a, sessions=3 + i, units=i, cents=100 * i) for i, a in enumerate(owned)]
        self.merge(owned, rows)
        once = dump_blocks(self.connection)
        self.merge(owned, rows)
        assert [b[:6] for b in dump_blocks(self.connection)] == [b[:6] for b in once]
        assert {a: self.series(a).sessions for a in owned} == {
            a: 3 + i for i, a in enumerate(owned)
        }

    def test_a_day_with_sales_and_no_sessions_is_pending(self):
        owned = self.asins[:2]
        self.merge(owned, [row(owned[0], sessions=0, units=2, cents=500)])
        day = self.series(owned[0])
        assert day.pending and day.sessions is None and day.units_ordered == 2

    def test_a_row_outside_the_range_stores_nothing(self):
        before = dump_blocks(self.connection)
        with pytest.raises(ReportFormatError):
            metrics_merge_asin_days(
                connection=self.connection,
                marketplace_id=MARKET,
                asins=self.asins[:1],
                start=DAY,
                end=DAY,
                rows=[TrendRow(date(2020, 1, 1), row(self.asins[0], sessions=1, units=0, cents=0))],
                currency="USD",
            )
        assert dump_blocks(self.connection) == before

    def test_by_date_days_become_the_account_series(self):
        document = (
            b'{"startDate":"2026-11-24","endDate":"2026-11-24","marketplaceId":"ATVPDKIKX0DER",'
            b'"sales":{"unitsOrdered":4,"totalOrderItems":3,"orderedProductSales":'
            b'{"amount":12.5,"currencyCode":"USD"}},"traffic":{"sessions":40,"pageViews":50,'
            b'"buyBoxPercentage":99.5,"unitSessionPercentage":10.0}}\n'
        )
        rows = parse_by_date(document, marketplace_id=MARKET, start=DAY, end=DAY, currency="USD")
        assert rows[0].ordered_product_sales == Money(1250, "USD")
        metrics_ingest_account_days(
            connection=self.connection,
            marketplace_id=MARKET,
            start=DAY,
            end=DAY,
            rows=rows,
            currency="USD",
        )


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b'{"startDate":"2026-11-24"', "not valid JSONL"),
        (
            b'{"marketplaceId":"ATVPDKIKX0DER","startDate":"2026-11-24","endDate":"2026-11-25"}',
            "not one day",
        ),
        (b"[1]", "not an object"),
    ],
)
def test_the_parser_refuses_a_damaged_document(line, words):
    with pytest.raises(ReportFormatError, match=words):
        parse_trends(
            line + b"\n",
            marketplace_id=MARKET,
            asins=["B0A"],
            start=DAY,
            end=date(2026, 11, 30),
            currency="USD",
        )


def test_the_trends_query_names_each_filter():
    text = trends_query([(MARKET, ["B0A", "B0B"])], DAY, DAY)
    assert 'filters: [{marketplaceId: "ATVPDKIKX0DER", asins: ["B0A", "B0B"]}]' in text
    assert "asinAggregation: CHILD, dateAggregation: DAY" in text
