"""metrics_ingest_day / metrics_ingest_days: one-day CHILD reports into encrypted month blocks."""

from __future__ import annotations

import gzip
import json
from datetime import date
from unittest import mock

import pytest

from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.metrics.blocks import SHARDS, BlockData, shard_of
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.report import ReportFormatError, parse_sales_traffic
from cvrtracker.metrics.selectors import metrics_account_series, metrics_product_series
from cvrtracker.metrics.services import metrics_ingest_day, metrics_ingest_days
from cvrtracker.test import BaseTestCase

from .helpers import MARKET, SIM_DAYS, dump_blocks, make_connection, report_json, sim_payloads

DAY = SIM_DAYS[0]


def document(day: date = DAY) -> bytes:
    return sim_payloads()["days"][day]


class IngestDayTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)

    def ingest(self, day: date = DAY, report=None) -> int:
        return metrics_ingest_day(
            connection=self.connection,
            marketplace_id=MARKET,
            day=day,
            report=document(day) if report is None else report,
        )

    def test_it_stores_every_asin_of_the_day(self):
        assert self.ingest() == 20
        report = parse_sales_traffic(document())
        for row in report.by_asin:
            (point,) = metrics_product_series(
                connection=self.connection, asin=row.child_asin, start=DAY, end=DAY
            )
            assert point.sessions == row.sessions
            assert point.page_views == row.page_views
            assert point.units_ordered == row.units_ordered
            assert point.ordered_product_sales == row.ordered_product_sales
            assert point.unit_session_percentage == row.unit_session_percentage
            assert point.buy_box_percentage == row.buy_box_percentage
        (account,) = metrics_account_series(
            connection=self.connection, marketplace_id=MARKET, start=DAY, end=DAY
        )
        assert account.sessions == report.by_date[0].sessions

    def test_each_asin_lives_in_the_block_of_its_shard(self):
        self.ingest()
        asins = [r.child_asin for r in parse_sales_traffic(document()).by_asin]
        for block in MetricBlock.objects.filter(granularity="asin"):
            assert all(shard_of(asin) == block.shard for asin, _ in block.rows)
        stored = [a for b in MetricBlock.objects.filter(granularity="asin") for a, _ in b.rows]
        assert sorted(stored) == sorted(asins)
        assert len({shard_of(a) for a in asins}) > 1  # the test data spans several shards

    def test_a_product_series_reads_only_its_own_shard(self):
        self.ingest()
        asin = parse_sales_traffic(document()).by_asin[0].child_asin
        before = metrics_product_series(connection=self.connection, asin=asin, start=DAY, end=DAY)
        MetricBlock.objects.filter(granularity="asin").exclude(shard=shard_of(asin)).delete()
        after = metrics_product_series(connection=self.connection, asin=asin, start=DAY, end=DAY)
        assert after == before and before[0].sessions is not None

    def test_the_shard_of_an_asin_never_changes(self):
        # Stored blocks depend on it: a new hash would need a migration that rebuilds them.
        assert [shard_of(a) for a in ("B000000001", "B07XJ8C8F5")] == [5, 11]

    def test_ingesting_twice_leaves_the_same_data(self):
        self.ingest()
        first = dump_blocks(self.connection)
        self.ingest()
        assert dump_blocks(self.connection) == first
        # One ASIN block per shard (every shard is written with each day), one account block.
        assert MetricBlock.objects.filter(granularity="asin").count() == SHARDS
        assert MetricBlock.objects.filter(granularity="account").count() == 1

    def test_the_order_of_days_does_not_matter(self):
        for day in SIM_DAYS:
            self.ingest(day)
        forward = dump_blocks(self.connection)
        MetricBlock.objects.all().delete()
        for day in reversed(SIM_DAYS):
            self.ingest(day)
        assert dump_blocks(self.connection) == forward

    def test_a_restated_day_overwrites_the_earlier_pull(self):
        self.ingest()
        doc = report_json(document())
        gone = doc["salesAndTrafficByAsin"].pop(0)["childAsin"]
        doc["salesAndTrafficByAsin"][0]["trafficByAsin"]["sessions"] = 4321
        kept = doc["salesAndTrafficByAsin"][0]["childAsin"]
        self.ingest(report=doc)
        (point,) = metrics_product_series(connection=self.connection, asin=kept, start=DAY, end=DAY)
        assert point.sessions == 4321
        (zero,) = metrics_product_series(connection=self.connection, asin=gone, start=DAY, end=DAY)
        assert (zero.sessions, zero.units_ordered, zero.conversion_rate) == (0, 0, None)

    def test_lagging_days_are_pending_not_zero(self):
        for day in SIM_DAYS:
            self.ingest(day)
        series = metrics_account_series(
            connection=self.connection, marketplace_id=MARKET, start=SIM_DAYS[0], end=SIM_DAYS[-1]
        )
        assert [p.pending for p in series] == [False, False, True, True, True]
        for point in series[2:]:
            assert point.units_ordered > 0
            assert point.sessions is None and point.conversion_rate is None
        assert series[0].conversion_rate == series[0].units_ordered / series[0].sessions

    def test_a_malformed_document_writes_nothing(self):
        body = document()
        for bad in (body[:-40], b"\x1f\x8b\x08garbage", gzip.compress(b'{"reportSpec')):
            with pytest.raises(ReportFormatError):
                self.ingest(report=bad)
        doc = report_json(body)
        doc["salesAndTrafficByAsin"][-1]["salesByAsin"]["unitsOrdered"] = "7"
        with pytest.raises(ReportFormatError):
            self.ingest(report=gzip.compress(json.dumps(doc).encode()))
        assert MetricBlock.objects.count() == 0

    def test_it_refuses_a_report_of_another_day_granularity_or_marketplace(self):
        with pytest.raises(ReportFormatError, match="expected a report of"):
            self.ingest(day=date(2026, 11, 1), report=document())
        doc = report_json(document())
        doc["reportSpecification"]["reportOptions"]["asinGranularity"] = "PARENT"
        with pytest.raises(ReportFormatError, match="CHILD"):
            self.ingest(report=doc)
        with pytest.raises(ReportFormatError, match="not A1PA6795UKMFR9"):
            metrics_ingest_day(
                connection=self.connection,
                marketplace_id="A1PA6795UKMFR9",
                day=DAY,
                report=document(),
            )
        assert MetricBlock.objects.count() == 0

    def test_a_crash_mid_batch_leaves_nothing_and_a_rerun_matches_a_clean_run(self):
        october = sim_payloads()["october"]
        reports = {**october, **{d: document(d) for d in SIM_DAYS}}
        self.ingest()  # state before the batch
        before = dump_blocks(self.connection)
        real_encode = BlockData.encode
        calls = {"n": 0}

        def crash_on_third(data):
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("worker killed")
            return real_encode(data)

        with mock.patch.object(BlockData, "encode", crash_on_third), pytest.raises(RuntimeError):
            metrics_ingest_days(connection=self.connection, marketplace_id=MARKET, reports=reports)
        assert dump_blocks(self.connection) == before
        metrics_ingest_days(connection=self.connection, marketplace_id=MARKET, reports=reports)
        resumed = dump_blocks(self.connection)

        clean = make_connection(self.team, seller_id="A2CLEANRUN")
        metrics_ingest_days(connection=clean, marketplace_id=MARKET, reports=reports)
        assert dump_blocks(clean) == resumed

    def test_a_shredded_key_makes_the_metrics_unreadable(self):
        self.ingest()
        self.connection.wrapped_data_key = None
        self.connection.save()
        self.connection.refresh_from_db()
        asin = parse_sales_traffic(document()).by_asin[0].child_asin
        with pytest.raises(DecryptionError):
            metrics_product_series(connection=self.connection, asin=asin, start=DAY, end=DAY)
        # Even with the key material of another connection the blocks stay closed.
        other = make_connection(self.team, seller_id="A3OTHER")
        block = MetricBlock.objects.filter(connection=self.connection).first()
        from cvrtracker.metrics.keys import ConnectionKeys

        with pytest.raises(DecryptionError):
            ConnectionKeys(other).data.decrypt(
                bytes(block.values_enc), aad=block.values_aad(str(self.connection.code))
            )
