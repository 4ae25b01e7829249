"""The overview's reads against 60 days whose sums are known by hand (helpers.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

from django.core.cache import cache
from django.http import QueryDict

from cvrtracker.dashboard import overview
from cvrtracker.dashboard.scope import dashboard_scope_for_user, period_from_query
from cvrtracker.lib import clock
from cvrtracker.listings.models import ListingChange
from cvrtracker.listings.tests.history_helpers import store
from cvrtracker.metrics.quick import QuickTotals
from cvrtracker.metrics.report import Money
from cvrtracker.metrics.selectors import ProductRow
from cvrtracker.metrics.services import metrics_ingest_days
from cvrtracker.test import BaseTestCase

from .helpers import (
    CA,
    DOWN,
    LAST_DAY,
    NOW,
    PENDING,
    SMALL,
    UP,
    US,
    day_report,
    expected_totals,
    ingest,
    make_connection,
)


class OverviewSelectorTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.enterContext(clock.following(lambda: NOW))
        self.connection = make_connection(self.team)
        ingest(self.connection)

    def read(self, **query):
        scope = dashboard_scope_for_user(user=self.alice)
        q = QueryDict(mutable=True)
        q.update(query)
        period = period_from_query(scope, q)
        return scope, period, overview.overview_read(scope=scope, period=period)

    def test_totals_are_the_sums_of_the_periods_days(self):
        scope, period, data = self.read(period="30")
        assert (period.start, period.end) == (LAST_DAY - timedelta(days=29), LAST_DAY)
        for totals, (start, end) in (
            (data.current, (period.start, period.end)),
            (data.previous, (period.previous_start, period.previous_end)),
        ):
            e = expected_totals(start, end)
            assert totals.sessions == e["sessions"]
            assert totals.page_views == e["page_views"]
            assert totals.units == e["units"]
            assert totals.sales_minor == e["sales"]
            assert (totals.days, totals.settled_days) == (e["days"], e["settled_days"])
            # Units of pending days stay out of the conversion rate.
            assert totals.conversion == 100 * e["settled_units"] / e["sessions"]
            assert abs(totals.buy_box - e["bb_weight"] / e["page_views"]) < 1e-9
        assert data.current.pending_days == 3 and data.previous.pending_days == 0

    def test_changes_compare_per_day_rates_and_points(self):
        scope, period, data = self.read(period="30")
        cur = expected_totals(period.start, period.end)
        prev = expected_totals(period.previous_start, period.previous_end)
        figures = {f.key: f for f in data.figures}
        # 27 settled days against 30: sessions are compared per settled day.
        sessions = 100 * ((cur["sessions"] / 27) / (prev["sessions"] / 30) - 1)
        assert abs(figures["sessions"].change - sessions) < 1e-9
        assert figures["sessions"].change_text == f"+{sessions:.1f}%"
        units = 100 * (cur["units"] / prev["units"] - 1)
        assert abs(figures["units"].change - units) < 1e-9
        cvr = (
            100 * cur["settled_units"] / cur["sessions"]
            - 100 * prev["settled_units"] / prev["sessions"]
        )
        assert abs(figures["conversion"].change - cvr) < 1e-9
        assert figures["conversion"].change_text.endswith(" pts")
        assert figures["revenue"].value == f"{cur['sales'] / 100:,.2f} USD"
        assert figures["conversion"].label == "Conversion (units ÷ sessions)"

    def test_no_previous_data_is_a_dash_never_zero(self):
        scope, period, data = self.read(period="90")
        assert data.previous.days == 0
        figures = {f.key: f for f in data.figures}
        assert all(f.change is None and f.change_text == "—" for f in figures.values())
        assert figures["units"].value == f"{expected_totals(period.start, period.end)['units']:,}"

    def test_pending_days_are_gaps_with_their_units_not_zeros(self):
        scope, period, data = self.read(period="7")
        chart = data.chart
        assert len(chart["day"]) == 7
        for i, day in enumerate(chart["day"]):
            pending = datetime.fromisoformat(day).date() in PENDING
            assert chart["pending"][i] is pending
            assert (chart["sessions"][i] is None) is pending
            assert (chart["conversion"][i] is None) is pending
            assert chart["units"][i] is not None
        fresh = data.freshness
        assert fresh.traffic_up_to == LAST_DAY - timedelta(days=3)
        assert fresh.pending_days == sorted(PENDING)
        rows = overview.overview_day_rows(days=data.days, currency="USD")
        assert [r.sessions for r in rows if r.pending] == ["pending"] * 3

    def test_days_not_fetched_are_gaps(self):
        scope, period, data = self.read(period="90")
        chart = data.chart
        missing = [i for i, u in enumerate(chart["units"]) if u is None]
        assert len(missing) == 30
        assert all(chart["sessions"][i] is None and not chart["pending"][i] for i in missing)

    def test_movers_need_enough_sessions_in_both_periods(self):
        scope, period = self.read(period="30")[:2]
        movers = overview.overview_movers(scope=scope, period=period)
        # UP: 3 units ÷ 10 sessions a day against 1 ÷ 10 before, on settled days.
        assert [m.asin for m in movers.up] == [UP]
        assert [m.asin for m in movers.down] == [DOWN]
        assert movers.compared == 2  # SMALL has 60 sessions in a period, under the minimum
        assert SMALL not in {m.asin for m in movers.up + movers.down}
        up = movers.up[0]
        assert (up.previous_conversion, up.conversion) == (10.0, 30.0)
        assert up.change_text == "+20.0 pts"
        assert (up.sessions, up.previous_sessions) == (270, 300)

    def test_recent_changes_are_the_marketplaces_latest(self):
        for n in range(10):
            store(
                self.connection,
                asin=UP,
                field=ListingChange.Field.PRICE,
                day=LAST_DAY - timedelta(days=n),
                action="changed",
                before={"amount": "10.00", "currency": "USD"},
                after={"amount": f"{11 + n}.00", "currency": "USD"},
            )
        other = store(self.connection, asin=DOWN, field=ListingChange.Field.TITLE, day=LAST_DAY)
        ListingChange.objects.filter(pk=other.pk).update(marketplace_id=CA)
        scope = dashboard_scope_for_user(user=self.alice)
        changes = overview.overview_recent_changes(scope=scope)
        assert len(changes) == overview.RECENT_CHANGES
        assert {c.asin for c in changes} == {UP}
        assert changes[0].after == "11.00 USD"

    def test_quick_totals_add_up_the_products_rows(self):
        rows = [
            ProductRow(UP, UP, 300, 360, 30, 27, 30, Money(5997, "USD"), 100.0, 30, 3),
            ProductRow(DOWN, DOWN, 200, 220, 10, 10, 10, Money(1999, "USD"), 98.0, 30, 0),
        ]
        quick = QuickTotals(
            start=LAST_DAY - timedelta(days=29),
            end=LAST_DAY,
            fetched_at=datetime(2026, 11, 29, 19, 59, tzinfo=UTC),
            currency="USD",
            rows=rows,
        )
        scope = dashboard_scope_for_user(user=self.alice)
        with mock.patch.object(overview, "metrics_quick_totals", return_value=quick) as read:
            summary = overview.overview_quick_totals(scope=scope)
        read.assert_called_once_with(connection=self.connection, marketplace_id=US)
        assert (summary.products, summary.sessions, summary.units) == (2, 500, 40)
        assert summary.sales == "79.96 USD"
        assert summary.conversion == 100 * 37 / 500
        assert [r.asin for r, _ in summary.top] == [UP, DOWN]

    def test_no_quick_totals_is_none(self):
        scope = dashboard_scope_for_user(user=self.alice)
        with mock.patch.object(overview, "metrics_quick_totals", return_value=None):
            assert overview.overview_quick_totals(scope=scope) is None


class MoversCacheTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.enterContext(clock.following(lambda: NOW))
        self.connection = make_connection(self.team)
        ingest(self.connection)
        self.scope = dashboard_scope_for_user(user=self.alice)
        self.period = period_from_query(self.scope, QueryDict("period=30"))

    def movers(self):
        return overview.overview_movers(scope=self.scope, period=self.period)

    def test_a_second_read_comes_from_the_cache_encrypted(self):
        with mock.patch.object(
            overview, "metrics_window_totals", wraps=overview.metrics_window_totals
        ) as read:
            first, second = self.movers(), self.movers()
        assert read.call_count == 1
        assert first == second and [m.asin for m in first.up] == [UP]
        stored = [v for k, v in cache._cache.items() if "dashboard.movers:" in k]
        assert stored and all(UP.encode() not in bytes(v) for v in stored)

    def test_a_sync_that_stores_a_day_refreshes_it(self):
        assert [m.asin for m in self.movers().up] == [UP]
        # Amazon restates the last settled day: UP sells nothing, DOWN sells a lot.
        day = LAST_DAY - timedelta(days=3)
        report = day_report(day)
        for row in report["salesAndTrafficByAsin"]:
            if row["childAsin"] in (UP, DOWN):
                row["salesByAsin"]["unitsOrdered"] = 0 if row["childAsin"] == UP else 300
        with mock.patch.object(
            overview, "metrics_window_totals", wraps=overview.metrics_window_totals
        ) as read:
            metrics_ingest_days(
                connection=self.connection, marketplace_id=US, reports={day: report}
            )
            movers = self.movers()
        assert read.call_count == 1
        by_asin = {m.asin: m for m in movers.down + movers.up}
        assert by_asin[DOWN].conversion > 100 * (27 + 300) / 270 - 1


def test_the_backfill_runs_until_both_plans_exist_and_are_done():
    def plan(done, total):
        return {"done": done, "total": total}

    assert overview.Backfill(history=plan(0, 0), recent=plan(0, 0)).running
    assert overview.Backfill(history=plan(3, 10), recent=plan(30, 30)).running
    assert overview.Backfill(history=plan(10, 10), recent=plan(29, 30)).running
    assert not overview.Backfill(history=plan(10, 10), recent=plan(30, 30)).running


class SimulatorSeriesTests(BaseTestCase):
    """The simulator's two-year by-date report, stored as the sync stores it."""

    def test_totals_match_the_reports_by_date_rows(self):
        from cvrtracker.metrics.report import parse_sales_traffic
        from cvrtracker.metrics.services import metrics_ingest_account_series
        from cvrtracker.metrics.tests.helpers import ACCOUNT_END, sim_payloads

        connection = make_connection(self.team)
        body = sim_payloads()["account"]
        metrics_ingest_account_series(connection=connection, marketplace_id=US, report=body)
        now = datetime.combine(ACCOUNT_END + timedelta(days=1), datetime.min.time(), UTC)
        with clock.following(lambda: now + timedelta(hours=20)):
            scope = dashboard_scope_for_user(user=self.alice)
            period = period_from_query(scope, QueryDict("period=90"))
            data = overview.overview_read(scope=scope, period=period)
        rows = [r for r in parse_sales_traffic(body).by_date if period.start <= r.day <= period.end]
        settled = [r for r in rows if not r.pending]
        assert data.current.days == len(rows) == 90
        assert data.current.units == sum(r.units_ordered for r in rows)
        assert data.current.sessions == sum(r.sessions for r in settled)
        assert data.current.sales_minor == sum(r.ordered_product_sales.amount_minor for r in rows)
        units = sum(r.units_ordered for r in settled)
        assert data.current.conversion == 100 * units / data.current.sessions
        assert data.previous.days == 90
