"""metrics_product_series and metrics_account_series: one ASIN's or the account's days."""

from __future__ import annotations

from datetime import date

import pytest

from cvrtracker.metrics.selectors import metrics_account_series, metrics_product_series
from cvrtracker.metrics.services import metrics_ingest_days
from cvrtracker.test import BaseTestCase

from .helpers import MARKET, SIM_DAYS, make_connection, sim_payloads


class ProductSeriesTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        metrics_ingest_days(
            connection=self.connection, marketplace_id=MARKET, reports=sim_payloads()["days"]
        )

    def test_it_returns_fetched_days_only_oldest_first(self):
        from cvrtracker.metrics.report import parse_sales_traffic

        asin = parse_sales_traffic(sim_payloads()["days"][SIM_DAYS[0]]).by_asin[0].child_asin
        series = metrics_product_series(
            connection=self.connection, asin=asin, start=date(2026, 11, 1), end=date(2026, 12, 31)
        )
        assert [p.day for p in series] == SIM_DAYS
        assert [p.pending for p in series] == [False, False, True, True, True]
        assert all(p.sessions is None and p.conversion_rate is None for p in series[2:])

    def test_an_unknown_asin_has_zero_days_that_stay_pending_when_the_day_is(self):
        series = metrics_product_series(
            connection=self.connection, asin="B000000000", start=SIM_DAYS[0], end=SIM_DAYS[-1]
        )
        assert [p.units_ordered for p in series] == [0] * 5
        assert [p.sessions for p in series] == [0, 0, None, None, None]

    def test_it_needs_a_marketplace_when_there_are_several(self):
        from cvrtracker.metrics.models import MetricBlock

        block = MetricBlock.objects.first()
        MetricBlock.objects.filter(pk=block.pk).update(marketplace_id="A2EUQ1WTGCTBG2")
        with pytest.raises(ValueError, match="several marketplaces"):
            metrics_product_series(
                connection=self.connection, asin="B000000000", start=SIM_DAYS[0], end=SIM_DAYS[0]
            )

    def test_the_account_series_is_empty_before_any_ingest(self):
        other = make_connection(self.team, seller_id="A4EMPTY")
        assert (
            metrics_account_series(
                connection=other, marketplace_id=MARKET, start=SIM_DAYS[0], end=SIM_DAYS[-1]
            )
            == []
        )


class AbsentDaysTests(BaseTestCase):
    def test_a_known_asin_absent_from_a_day_has_zeros_or_pending_as_the_account_day(self):
        """Its block has a row for it, but not that day's values: the day is pending
        when the account's day is, else a settled day without activity."""
        import copy
        import gzip
        import json

        from cvrtracker.metrics.report import parse_sales_traffic

        connection = make_connection(self.team, self.alice)
        reports = copy.deepcopy(sim_payloads()["days"])
        first = SIM_DAYS[0]
        asin = parse_sales_traffic(reports[first]).by_asin[0].child_asin
        for day in (SIM_DAYS[1], SIM_DAYS[3]):  # one settled day, one pending day
            document = json.loads(gzip.decompress(reports[day]))
            document["salesAndTrafficByAsin"] = [
                row for row in document["salesAndTrafficByAsin"] if row["childAsin"] != asin
            ]
            reports[day] = gzip.compress(json.dumps(document).encode())
        metrics_ingest_days(connection=connection, marketplace_id=MARKET, reports=reports)
        series = metrics_product_series(
            connection=connection, asin=asin, start=SIM_DAYS[0], end=SIM_DAYS[-1]
        )
        assert [p.pending for p in series] == [False, False, True, True, True]
        assert (series[1].sessions, series[1].units_ordered) == (0, 0)
        assert (series[3].sessions, series[3].units_ordered) == (None, 0)
        assert series[0].sessions and series[2].units_ordered is not None
