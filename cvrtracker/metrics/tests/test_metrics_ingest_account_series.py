"""metrics_ingest_account_series: the two-year by-date report that draws the first chart."""

from __future__ import annotations

from unittest import mock

import pytest

from cvrtracker.metrics.blocks import BlockData
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.report import ReportFormatError, parse_sales_traffic
from cvrtracker.metrics.selectors import metrics_account_series, metrics_days_fetched
from cvrtracker.metrics.services import metrics_ingest_account_series
from cvrtracker.test import BaseTestCase

from .helpers import (
    ACCOUNT_END,
    ACCOUNT_START,
    MARKET,
    dump_blocks,
    make_connection,
    report_json,
    sim_payloads,
)


class IngestAccountSeriesTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        self.document = sim_payloads()["account"]

    def ingest(self, connection=None, report=None) -> int:
        return metrics_ingest_account_series(
            connection=connection or self.connection,
            marketplace_id=MARKET,
            report=self.document if report is None else report,
        )

    def test_it_stores_two_years_of_days_in_monthly_blocks(self):
        report = parse_sales_traffic(self.document)
        assert self.ingest() == len(report.by_date) > 700
        assert MetricBlock.objects.filter(granularity="account").count() == 24
        series = metrics_account_series(
            connection=self.connection, marketplace_id=MARKET, start=ACCOUNT_START, end=ACCOUNT_END
        )
        assert [p.day for p in series] == [r.day for r in report.by_date]
        for point, row in zip(series, report.by_date, strict=True):
            assert point.units_ordered == row.units_ordered
            assert point.ordered_product_sales == row.ordered_product_sales
            assert point.sessions == (None if row.pending else row.sessions)
        assert [p.pending for p in series[-4:]] == [False, True, True, True]
        fetched = metrics_days_fetched(
            connection=self.connection,
            marketplace_id=MARKET,
            start=ACCOUNT_START,
            end=ACCOUNT_END,
            granularity="account",
        )
        assert sorted(fetched) == [r.day for r in report.by_date]

    def test_it_is_idempotent_even_after_a_crash_half_way(self):
        real_encode = BlockData.encode
        calls = {"n": 0}

        def crash_on_twelfth(data):
            calls["n"] += 1
            if calls["n"] == 12:
                raise RuntimeError("worker killed")
            return real_encode(data)

        with mock.patch.object(BlockData, "encode", crash_on_twelfth), pytest.raises(RuntimeError):
            self.ingest()
        assert MetricBlock.objects.count() == 0
        self.ingest()
        once = dump_blocks(self.connection)
        self.ingest()
        assert dump_blocks(self.connection) == once

    def test_a_broken_row_anywhere_writes_nothing(self):
        doc = report_json(self.document)
        doc["salesAndTrafficByDate"][700]["trafficByDate"]["pageViews"] = -3
        with pytest.raises(ReportFormatError, match=r"salesAndTrafficByDate\[700\]"):
            self.ingest(report=doc)
        assert MetricBlock.objects.count() == 0

    def test_it_refuses_week_or_month_reports(self):
        doc = report_json(self.document)
        doc["reportSpecification"]["reportOptions"]["dateGranularity"] = "WEEK"
        with pytest.raises(ReportFormatError, match="DAY"):
            self.ingest(report=doc)
