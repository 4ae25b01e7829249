"""metrics_product_table: per-ASIN totals and CVR over a window, the dashboard's table."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import Http404

from cvrtracker.accounts.access import get_connection_for_user
from cvrtracker.metrics.report import parse_sales_traffic
from cvrtracker.metrics.selectors import metrics_product_table
from cvrtracker.metrics.services import metrics_ingest_days
from cvrtracker.test import BaseTestCase

from .helpers import MARKET, SIM_DAYS, make_connection, sim_payloads

START, END = date(2026, 10, 25), date(2026, 11, 30)


class ProductTableTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        self.reports = {**sim_payloads()["october"], **sim_payloads()["days"]}
        metrics_ingest_days(connection=self.connection, marketplace_id=MARKET, reports=self.reports)

    def table(self, **kwargs):
        return metrics_product_table(
            connection=self.connection, marketplace_id=MARKET, start=START, end=END, **kwargs
        )

    def test_totals_add_up_the_days_across_months(self):
        expected: dict[str, dict] = {}
        for body in self.reports.values():
            report = parse_sales_traffic(body)
            for row in report.by_asin:
                e = expected.setdefault(
                    row.child_asin, {"units": 0, "sessions": 0, "settled": 0, "days": 0}
                )
                e["units"] += row.units_ordered
                # Amazon lists an ASIN only on days with activity.
                e["days"] += 1
                e["pending_days"] = e.get("pending_days", 0) + report.pending
                if not report.pending:
                    e["sessions"] += row.sessions
                    e["settled"] += row.units_ordered
        rows = self.table()
        assert {r.asin for r in rows} == set(expected)
        for row in rows:
            e = expected[row.asin]
            assert (row.units_ordered, row.sessions) == (e["units"], e["sessions"])
            assert (row.days, row.pending_days) == (e["days"], e["pending_days"])
            assert row.pending_days <= 3 <= row.days
            # Units of pending days must not inflate CVR.
            assert row.conversion_rate == (e["settled"] / e["sessions"] if e["sessions"] else None)

    def test_it_sorts_by_conversion_with_unknown_rates_last(self):
        rows = self.table(order_by="-conversion_rate")
        rates = [r.conversion_rate for r in rows]
        known = [r for r in rates if r is not None]
        assert known == sorted(known, reverse=True)
        assert rates[: len(known)] == known
        ascending = [r.conversion_rate for r in self.table(order_by="conversion_rate")]
        assert [r for r in ascending if r is not None] == sorted(known)

    def test_it_limits_and_sorts_by_units_then_asin(self):
        rows = self.table(order_by="-units_ordered", limit=5)
        assert len(rows) == 5
        everything = self.table(order_by="-units_ordered")
        assert rows == everything[:5]
        keys = [(-r.units_ordered, r.asin) for r in everything]
        assert keys == sorted(keys)

    def test_a_window_of_pending_days_only_has_no_conversion_rate(self):
        rows = metrics_product_table(
            connection=self.connection, marketplace_id=MARKET, start=SIM_DAYS[2], end=SIM_DAYS[-1]
        )
        assert rows and all(r.conversion_rate is None and r.sessions == 0 for r in rows)
        assert sum(r.units_ordered for r in rows) > 0

    def test_it_refuses_an_unknown_sort(self):
        with pytest.raises(ValueError, match="cannot sort"):
            self.table(order_by="title")

    def test_an_outsider_cannot_reach_the_connection(self):
        assert get_connection_for_user(self.bob, self.connection.code) == self.connection
        with pytest.raises(Http404):
            get_connection_for_user(self.charlie, self.connection.code)
        assert (
            metrics_product_table(
                connection=make_connection(self.charlies_team, seller_id="A9CHARLIE"),
                marketplace_id=MARKET,
                start=START,
                end=END,
            )
            == []
        )
