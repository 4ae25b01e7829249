"""metrics_store_range_totals / metrics_quick_totals: one range report's by-ASIN rows,
stored encrypted, read back as the product table's rows."""

from __future__ import annotations

from datetime import date
from functools import cache

import pytest

from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.metrics.models import MetricRangeTotals
from cvrtracker.metrics.quick import metrics_quick_totals
from cvrtracker.metrics.report import ReportFormatError, parse_sales_traffic
from cvrtracker.metrics.services import metrics_store_range_totals
from cvrtracker.simulator.testing import SimClient, running_simulator
from cvrtracker.test import BaseTestCase

from .helpers import MARKET, fetch_report, make_connection

# The simulator's today is 2026-11-29: the last three days' traffic has not arrived.
SETTLED = (date(2026, 10, 27), date(2026, 11, 25))
TO_YESTERDAY = (date(2026, 10, 30), date(2026, 11, 28))


@cache
def range_reports() -> dict[tuple[date, date], bytes]:
    with running_simulator(asins=20, st_budget=False) as sim:
        client = SimClient(sim)
        token = client.access_token(sim.world.sellers[0].id)
        return {
            (start, end): fetch_report(client, token, start=start, end=end)
            for start, end in (SETTLED, TO_YESTERDAY)
        }


class QuickTotalsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)

    def store(self, span=SETTLED, document=None, marketplace_id=MARKET):
        return metrics_store_range_totals(
            connection=self.connection,
            marketplace_id=marketplace_id,
            start=span[0],
            end=span[1],
            report=range_reports()[span] if document is None else document,
        )

    def read(self):
        return metrics_quick_totals(connection=self.connection, marketplace_id=MARKET)

    def test_none_before_any_range_report(self):
        assert self.read() is None

    def test_every_asin_of_the_report_with_its_totals_over_the_range(self):
        self.store()
        totals = self.read()
        report = parse_sales_traffic(range_reports()[SETTLED])
        assert (totals.start, totals.end, totals.currency) == (*SETTLED, "USD")
        assert len(totals.rows) == len(report.by_asin) == 20
        by_asin = {r.child_asin: r for r in report.by_asin}
        for row in totals.rows:
            source = by_asin[row.asin]
            assert row.parent_asin == source.parent_asin
            assert row.sessions == source.sessions and row.page_views == source.page_views
            assert row.units_ordered == row.settled_units_ordered == source.units_ordered
            assert row.total_order_items == source.total_order_items
            assert row.ordered_product_sales == source.ordered_product_sales
            assert row.buy_box_percentage == source.buy_box_percentage
            assert (row.days, row.pending_days) == (30, 0)
            assert row.conversion_rate == pytest.approx(source.unit_session_percentage / 100, 1e-3)
        units = [r.units_ordered for r in totals.rows]
        assert units == sorted(units, reverse=True)

    def test_days_without_traffic_yet_are_counted_as_pending(self):
        self.store(TO_YESTERDAY)
        assert {r.pending_days for r in self.read().rows} == {3}

    def test_storing_again_or_a_newer_range_keeps_one_row(self):
        self.store(TO_YESTERDAY)
        self.store()
        self.store()
        assert MetricRangeTotals.objects.count() == 1
        assert (self.read().start, self.read().end) == SETTLED

    def test_a_report_of_another_range_granularity_or_marketplace_stores_nothing(self):
        self.store()
        before = bytes(MetricRangeTotals.objects.get().values_enc)
        with pytest.raises(ReportFormatError, match="expected a report of"):
            self.store(SETTLED, document=range_reports()[TO_YESTERDAY])
        with pytest.raises(ReportFormatError, match="not A1PA6795UKMFR9"):
            self.store(marketplace_id="A1PA6795UKMFR9")
        with pytest.raises(ReportFormatError):
            self.store(document=b"\x1f\x8b not gzip")
        assert bytes(MetricRangeTotals.objects.get().values_enc) == before
        assert not MetricRangeTotals.objects.filter(marketplace_id="A1PA6795UKMFR9").exists()

    def test_values_are_encrypted_and_bound_to_their_row_index(self):
        self.store()
        stored = MetricRangeTotals.objects.get()
        assert b"USD" not in bytes(stored.values_enc) and b"MB1" not in bytes(stored.values_enc)
        # Reordering the plaintext index would give one ASIN's figures to another.
        stored.rows = stored.rows[::-1]
        stored.save()
        with pytest.raises(DecryptionError):
            self.read()
