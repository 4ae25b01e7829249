"""metrics_window_totals: per-ASIN sums of several windows in one pass, as arrays."""

from __future__ import annotations

from datetime import date

import numpy as np

from cvrtracker.metrics.selectors import metrics_product_table, metrics_window_totals
from cvrtracker.metrics.services import metrics_ingest_days
from cvrtracker.test import BaseTestCase

from .helpers import MARKET, SIM_DAYS, make_connection, sim_payloads

WINDOWS = [(date(2026, 11, 24), date(2026, 11, 30)), (date(2026, 10, 25), date(2026, 11, 23))]


class WindowTotalsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        reports = {**sim_payloads()["october"], **sim_payloads()["days"]}
        metrics_ingest_days(connection=self.connection, marketplace_id=MARKET, reports=reports)

    def test_each_window_matches_the_product_table(self):
        totals = metrics_window_totals(
            connection=self.connection, marketplace_id=MARKET, windows=WINDOWS
        )
        assert len(totals) == 2
        for window, (start, end) in zip(totals, WINDOWS, strict=True):
            rows = metrics_product_table(
                connection=self.connection,
                marketplace_id=MARKET,
                start=start,
                end=end,
                order_by="asin",
            )
            assert window.asins.tolist() == [r.asin for r in rows]
            assert window.sessions.tolist() == [r.sessions for r in rows]
            assert window.units.tolist() == [r.units_ordered for r in rows]
            assert window.settled_units.tolist() == [r.settled_units_ordered for r in rows]
            assert window.sales.tolist() == [r.ordered_product_sales.amount_minor for r in rows]
            rates = [np.nan if r.conversion_rate is None else r.conversion_rate for r in rows]
            np.testing.assert_allclose(window.conversion_rates(), rates)
        # The recent window has pending days (SIM_DAYS): their units, no sessions.
        recent = totals[0]
        assert (recent.units >= recent.settled_units).all()
        assert (recent.units > recent.settled_units).any()
        assert SIM_DAYS[-1] <= WINDOWS[0][1]

    def test_a_window_without_data_is_empty(self):
        (empty,) = metrics_window_totals(
            connection=self.connection,
            marketplace_id=MARKET,
            windows=[(date(2025, 1, 1), date(2025, 1, 31))],
        )
        assert empty.asins.size == 0 and empty.conversion_rates().size == 0
