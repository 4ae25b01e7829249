"""The product table's selectors: sums, the change in conversion, sort, search, filters,
grouping, pages, tracked vs all, the plan's history depth and tenant isolation."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from unittest import mock

import numpy as np
import pytest
from django.core.cache import cache, caches
from django.http import Http404, QueryDict

from cvrtracker.billing.tests.conftest import stripe_server  # noqa: F401 - a fixture
from cvrtracker.dashboard.scope import dashboard_scope_for_user, period_from_query
from cvrtracker.dashboard.table import (
    _COUNTS,
    TableParams,
    _Adder,
    export_row,
    product_table_page,
    product_table_rows,
    table_params_from_query,
)
from cvrtracker.lib import clock
from cvrtracker.listings.services import listing_record_snapshot, listings_admit
from cvrtracker.listings.tests.helpers import PlanTestCase
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.quick import QuickTotals
from cvrtracker.metrics.report import Money
from cvrtracker.metrics.selectors import ProductRow
from cvrtracker.metrics.services import metrics_ingest_days
from cvrtracker.test import BaseTestCase

from .table_data import LAST_DAY, NOW, START, US, day_report, item, make_seller

KETTLE, MUG, LAMP, TEAPOT, LONE = (
    "B0AAAAAAA1",
    "B0BBBBBBB2",
    "B0CCCCCCC3",
    "B0DDDDDDD4",
    "B0EEEEEEE5",
)
NEW = "sku:NEW-6"


class TableTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        with clock.following(lambda: NOW):
            cls.connection = make_seller(cls.team, cls.alice)

    def setUp(self):
        super().setUp()
        pinned = clock.following(lambda: NOW)
        pinned.__enter__()
        self.addCleanup(pinned.__exit__, None, None, None)

    def scope(self, user=None):
        return dashboard_scope_for_user(user=user or self.bob, account=str(self.connection.code))

    def rows(self, query: str = "", user=None):
        scope = self.scope(user)
        q = QueryDict(query)
        period = period_from_query(scope, q)
        return list(
            product_table_rows(scope=scope, period=period, params=table_params_from_query(q))
        )

    def page(self, query: str = "", *, page_size: int = 50):
        scope = self.scope()
        q = QueryDict(query)
        return product_table_page(
            scope=scope,
            period=period_from_query(scope, q),
            params=table_params_from_query(q),
            page_size=page_size,
        )

    def by_key(self, query: str = "") -> dict:
        return {r.key: r for r in self.rows(query)}


class ProductTableTests(TableTestCase):
    def test_the_period_is_the_last_thirty_whole_days(self):
        period = period_from_query(self.scope(), QueryDict())
        assert (period.start, period.end) == (START, LAST_DAY)

    def test_it_sums_the_days_and_leaves_pending_traffic_out_of_conversion(self):
        kettle = self.by_key()[KETTLE]
        # 29 settled days of 100 sessions and 10 units, and a pending day of 3 units.
        assert (kettle.sessions, kettle.page_views) == (2900, 5800)
        assert (kettle.units, kettle.settled_units) == (293, 290)
        assert kettle.conversion == pytest.approx(0.10)
        assert str(kettle.revenue) == "7325.00"
        assert kettle.buy_box_percent == 90.0
        assert kettle.pending_days == 1

    def test_the_change_in_conversion_is_in_points_against_the_previous_period(self):
        rows = self.by_key()
        assert rows[KETTLE].previous_conversion == pytest.approx(0.05)
        assert rows[KETTLE].conversion_change == pytest.approx(5.0)
        assert rows[MUG].conversion_change_points == -2.0

    def test_no_change_without_sessions_on_either_side(self):
        rows = self.by_key("show=all")
        assert rows[LAMP].conversion is None and rows[LAMP].previous_conversion_percent == 5.0
        assert rows[LAMP].conversion_change is None
        assert rows[TEAPOT].conversion == pytest.approx(0.10)
        assert rows[TEAPOT].conversion_change is None

    def test_the_trend_sums_each_bucket(self):
        kettle = self.by_key()[KETTLE]
        assert len(kettle.trend) == 30
        assert kettle.trend[:29] == [pytest.approx(10.0)] * 29
        # The pending last day has no sessions: a gap, never a zero.
        assert kettle.trend[-1] is None

    def test_a_long_period_has_thirty_buckets_of_sums(self):
        kettle = self.by_key("period=90")[KETTLE]
        assert len(kettle.trend) == 30
        # Three days a bucket: nothing stored in the first month, then 5 %, then 10 % (the
        # last bucket's pending day adds units to no session, so it stays at 10 %).
        assert kettle.trend[:10] == [None] * 10
        assert kettle.trend[10:20] == [pytest.approx(5.0)] * 10
        assert kettle.trend[20:] == [pytest.approx(10.0)] * 10

    def test_tracked_products_by_default(self):
        rows = self.rows()
        assert {r.key for r in rows} == {KETTLE, MUG, LAMP, NEW}
        assert all(r.is_tracked for r in rows)

    def test_all_products_adds_untracked_listings_and_asins_without_listing(self):
        rows = self.by_key("show=all")
        assert set(rows) == {KETTLE, MUG, LAMP, TEAPOT, LONE, NEW}
        assert rows[TEAPOT].tracking_label == "Not tracked"
        assert rows[LONE].tracking_label == "Not tracked: no listing"
        assert rows[NEW].sessions == 0 and rows[NEW].conversion is None

    def test_titles_and_skus_come_from_the_listings(self):
        rows = self.by_key()
        assert (rows[KETTLE].title, rows[KETTLE].skus) == ("Blue Kettle", ["KET-1"])
        assert rows[KETTLE].parent_asin == "B0PARENT1"
        assert rows[LAMP].parent_asin == ""

    def test_a_product_sold_under_two_skus_is_one_row_with_both(self):
        entries = [item("KET-0", KETTLE, "Kettle, second offer"), item("ZZ-9", "", "No ASIN yet")]
        admitted = listings_admit(connection=self.connection, marketplace_id=US, items=entries)
        for entry in entries:
            listing_record_snapshot(
                listing=admitted[entry["sku"]], item=entry, catalog_item=None, sync_id="sync-2"
            )
        rows = self.by_key("show=all")
        kettle = rows[KETTLE]
        assert kettle.skus == ["KET-0", "KET-1"] and kettle.is_tracked
        # The title of its first SKU, the sums of its ASIN once.
        assert kettle.title == "Kettle, second offer"
        assert (kettle.sessions, kettle.settled_units) == (2900, 290)
        assert export_row(kettle)[1] == "KET-0 KET-1"
        assert rows["sku:ZZ-9"].skus == ["ZZ-9"] and rows[NEW].skus == ["NEW-6"]
        assert [r.key for r in self.rows("q=ket-0")] == [KETTLE]

    def keys(self, query):
        return [r.key for r in self.rows(query)]

    def test_by_conversion_change_with_unknown_values_last_either_way(self):
        assert self.keys("sort=-conversion_change") == [KETTLE, MUG, LAMP, NEW]
        assert self.keys("sort=conversion_change") == [MUG, KETTLE, LAMP, NEW]

    def test_ties_break_by_asin(self):
        # The kettle and the teapot both convert at 10 %.
        assert self.keys("show=all&sort=-conversion") == [KETTLE, TEAPOT, LONE, MUG, LAMP, NEW]
        assert self.keys("show=all&sort=conversion") == [MUG, LONE, KETTLE, TEAPOT, LAMP, NEW]

    def test_every_metric_column_sorts(self):
        for key in ("sessions", "page_views", "units", "revenue", "buy_box"):
            rows = self.rows(f"show=all&sort=-{key}")
            values = [r.sort_value(key) for r in rows if r.sort_value(key) is not None]
            assert values == sorted(values, reverse=True), key
        assert self.keys("sort=asin") == sorted([KETTLE, MUG, LAMP, NEW])

    def test_an_unknown_sort_falls_back_to_units(self):
        assert table_params_from_query(QueryDict("sort=title")).sort == "-units"

    def test_by_asin_sku_and_title_ignoring_case(self):
        assert [r.key for r in self.rows("q=b0ccc")] == [LAMP]
        assert [r.key for r in self.rows("q=mug-2")] == [MUG]
        assert [r.key for r in self.rows("q=KETTLE")] == [KETTLE]
        assert [r.key for r in self.rows("q=nothing-like-it")] == []

    def test_untracked_titles_are_searched_with_show_all(self):
        assert [r.key for r in self.rows("q=teapot")] == []
        assert [r.key for r in self.rows("q=teapot&show=all")] == [TEAPOT]

    def test_changed_in_the_period(self):
        # The kettle's change is dated before the period; the mug's inside it.
        assert [r.key for r in self.rows("changed=1")] == [MUG]
        assert self.by_key()[MUG].changed and not self.by_key()[KETTLE].changed

    def test_out_of_stock(self):
        rows = self.by_key()
        assert rows[MUG].stock == "out_of_stock" and rows[KETTLE].stock == "in_stock"
        assert rows[LAMP].stock == "unknown"
        assert [r.key for r in self.rows("stock=out")] == [MUG]

    def test_suppressed(self):
        assert [r.key for r in self.rows("suppressed=1")] == [LAMP]
        assert self.by_key()[KETTLE].suppressed is False

    def test_filters_combine(self):
        assert [r.key for r in self.rows("stock=out&suppressed=1")] == []

    def test_children_under_their_parents_subtotal(self):
        rows = self.rows("group=parent&sort=-conversion")
        assert [(r.asin, r.is_parent) for r in rows][:3] == [
            ("B0PARENT1", True),
            (KETTLE, False),
            (MUG, False),
        ]
        parent = rows[0]
        assert (parent.sessions, parent.units, parent.children) == (2900 + 1450, 293 + 32, 2)
        # Σunits ÷ Σsessions, not the mean of 10 % and 2 %.
        assert parent.conversion == pytest.approx((290 + 29) / (2900 + 1450))
        assert parent.previous_conversion == pytest.approx((150 + 60) / (3000 + 1500))
        assert parent.revenue_minor == rows[1].revenue_minor + rows[2].revenue_minor
        assert [r.key for r in rows[3:]] == [LAMP, NEW]
        assert export_row(parent)[2] == "Parent: sum of 2 products"

    def test_a_page_break_inside_a_group_repeats_its_subtotal(self):
        second = self.page("group=parent&sort=-conversion&page=2", page_size=2)
        assert [(r.asin, r.continued) for r in second.rows] == [
            ("B0PARENT1", True),
            (MUG, False),
            (LAMP, False),
        ]
        assert second.total == 5

    def test_pages_split_every_matching_row(self):
        first = self.page("sort=asin", page_size=3)
        last = self.page("sort=asin&page=2", page_size=3)
        assert (first.total, first.pages, len(first.rows), len(last.rows)) == (4, 2, 3, 1)
        assert [r.key for r in first.rows + last.rows] == [r.key for r in self.rows("sort=asin")]
        assert first.has_next and not first.has_previous and last.has_previous

    def test_a_page_past_the_end_shows_the_last_one(self):
        assert self.page("page=99", page_size=3).page == 2
        assert table_params_from_query(QueryDict("page=-1")).page == 1
        assert table_params_from_query(QueryDict("page=abc")).page == 1

    def test_only_the_page_shown_is_decrypted(self):
        page = self.page("sort=asin", page_size=1)
        assert page.rows[0].title == "Blue Kettle"

    def test_an_exact_page_has_no_empty_page_after_it(self):
        page = self.page("", page_size=4)
        assert (page.pages, len(page.rows)) == (1, 4)

    def test_another_teams_account_is_a_404(self):
        with pytest.raises(Http404):
            self.scope(user=self.charlie)

    def test_an_outsider_without_a_connection_gets_no_rows(self):
        scope = dashboard_scope_for_user(user=self.charlie)
        assert scope.connection is None
        page = product_table_page(scope=scope, period=None, params=TableParams())
        assert page.rows == [] and page.total == 0


class TableCacheTests(TableTestCase):
    """The period's sums are kept (encrypted) until a block of its months is written."""

    def setUp(self):
        super().setUp()
        cache.clear()
        self.addCleanup(cache.clear)

    @staticmethod
    def figures(rows):
        return [(r.key, r.sessions, r.units, r.conversion_change, r.trend) for r in rows]

    def test_sorting_and_paging_the_same_period_read_no_block_again(self):
        first = self.figures(self.page("sort=-units").rows)
        with mock.patch(
            "cvrtracker.dashboard.table.block_data", side_effect=AssertionError("a block was read")
        ):
            again = self.figures(self.page("sort=-units").rows)
            second_page = self.page("sort=-conversion_change", page_size=2)
        assert again == first
        # Kettle +5 points, mug -2; the lamp and the new product have no change.
        assert [r.key for r in second_page.rows] == [KETTLE, MUG]
        cache.clear()
        assert self.figures(self.page("sort=-units").rows) == first

    def test_a_day_stored_by_the_sync_is_shown_at_once(self):
        assert self.by_key()[KETTLE].sessions == 2900
        # The pending last day's traffic arrives: the sync stores that day again, settled.
        settled = day_report(LAST_DAY - timedelta(days=1))
        settled = replace(
            settled,
            start=LAST_DAY,
            end=LAST_DAY,
            by_date=tuple(replace(d, day=LAST_DAY) for d in settled.by_date),
        )
        metrics_ingest_days(
            connection=self.connection, marketplace_id=US, reports={LAST_DAY: settled}
        )
        kettle = {r.key: r for r in self.page().rows}[KETTLE]
        assert (kettle.sessions, kettle.pending_days) == (3000, 0)
        assert kettle.trend[-1] == pytest.approx(10.0)

    def test_what_is_cached_is_encrypted(self):
        store = caches["default"]
        with mock.patch.object(store, "set", wraps=store.set) as stored:
            self.page()
        values = [c.args[1] for c in stored.call_args_list if c.args[0].startswith("dashboard.")]
        assert values
        for value in values:
            assert b"sum_sessions" not in value and KETTLE.encode() not in value


class QuickTotalsTests(BaseTestCase):
    """Before the backfill has stored a day of the period, the first-minute range totals
    fill the table (metrics_quick_totals is a placeholder until that helper lands, so
    its answer is stood in for here)."""

    def setUp(self):
        super().setUp()
        pinned = clock.following(lambda: NOW)
        pinned.__enter__()
        self.addCleanup(pinned.__exit__, None, None, None)
        self.connection = make_seller(self.team, self.alice)
        MetricBlock.objects.filter(connection=self.connection, month__gte=date(2026, 5, 1)).update(
            fetched=[]
        )

    def quick(self, **kwargs):
        row = ProductRow(
            asin=KETTLE,
            parent_asin="B0PARENT1",
            sessions=3000,
            page_views=6000,
            units_ordered=310,
            settled_units_ordered=300,
            total_order_items=310,
            ordered_product_sales=Money(775000, "USD"),
            buy_box_percentage=95.5,
            days=30,
            pending_days=1,
        )
        return QuickTotals(start=START, end=LAST_DAY, fetched_at=NOW, currency="USD", rows=[row])

    def test_the_range_totals_stand_in_and_say_so(self):
        with mock.patch("cvrtracker.dashboard.table.metrics_quick_totals", self.quick):
            scope = dashboard_scope_for_user(user=self.alice)
            page = product_table_page(
                scope=scope, period=period_from_query(scope, QueryDict()), params=TableParams()
            )
        assert page.source.quick and page.source.start == START
        kettle = next(r for r in page.rows if r.asin == KETTLE)
        assert (kettle.sessions, kettle.conversion_percent, kettle.buy_box_percent) == (
            3000,
            10.0,
            95.5,
        )
        assert kettle.previous_conversion is None and kettle.trend == []

    def test_without_range_totals_the_table_says_nothing_is_stored_yet(self):
        scope = dashboard_scope_for_user(user=self.alice)
        page = product_table_page(
            scope=scope, period=period_from_query(scope, QueryDict()), params=TableParams()
        )
        assert not page.source.quick and page.source.days_fetched == 0
        assert all(r.sessions == 0 for r in page.rows)


class HistoryClampTests(PlanTestCase):
    def setUp(self):
        super().setUp()
        pinned = clock.following(lambda: NOW)
        pinned.__enter__()
        self.addCleanup(pinned.__exit__, None, None, None)
        self.connection = make_seller(self.team, self.alice)
        self.put_on_starter()  # 90 days of history

    def test_the_period_and_its_comparison_stop_at_the_plans_history(self):
        scope = dashboard_scope_for_user(user=self.alice)
        period = period_from_query(scope, QueryDict("period=365"))
        # The plan's 90 days end on the last whole day the page shows.
        assert period.clamped and period.start == scope.history_start
        assert period.start == LAST_DAY - timedelta(days=89)
        assert period.days == (LAST_DAY - period.start).days + 1 == 90
        rows = {
            r.key: r for r in product_table_rows(scope=scope, period=period, params=TableParams())
        }
        # Every stored day is inside the 90 days: the same sums as the whole history.
        assert rows["B0AAAAAAA1"].sessions == 2900 + 3000
        # The previous 90 days lie before the plan's history: no comparison.
        assert rows["B0AAAAAAA1"].previous_conversion is None
        assert rows["B0AAAAAAA1"].conversion_change is None

    def test_a_period_inside_the_history_compares_within_it(self):
        scope = dashboard_scope_for_user(user=self.alice)
        period = period_from_query(scope, QueryDict("period=30"))
        rows = list(product_table_rows(scope=scope, period=period, params=TableParams()))
        assert rows[0].asin == "B0AAAAAAA1" and rows[0].conversion_change == pytest.approx(5.0)
        assert period.previous_start >= date(2026, 3, 17)


class CountSumsTests(BaseTestCase):
    """Counts are summed in int32 (_COUNTS), and a sum that would not fit widens its
    column to int64 first instead of wrapping around."""

    def test_small_sums_stay_int32(self):
        adder = _Adder({"sessions": np.zeros(4, np.int32)})
        adder.add("sessions", np.array([0, 2]), np.array([5, 7], np.int64))
        adder.add("sessions", np.array([2, 3]), np.array([1, 9], np.int64))
        self.assertEqual(adder.sums["sessions"].dtype, np.int32)
        self.assertEqual(adder.sums["sessions"].tolist(), [5, 0, 8, 9])

    def test_a_sum_past_int32_widens_the_column(self):
        top = np.iinfo(np.int32).max
        adder = _Adder({"units": np.array([top - 1, 3, 0], np.int32)})
        adder.add("units", np.array([0, 1]), np.array([2, 4], np.int64))
        self.assertEqual(adder.sums["units"].dtype, np.int64)
        self.assertEqual(adder.sums["units"].tolist(), [top + 1, 7, 0])

    def test_a_value_past_int32_on_its_own_widens_the_column(self):
        adder = _Adder({"page_views": np.zeros(2, np.int32)})
        adder.add("page_views", np.array([1]), np.array([2**40], np.int64))
        self.assertEqual(adder.sums["page_views"].tolist(), [0, 2**40])

    def test_money_is_int64_from_the_start(self):
        self.assertNotIn("sales", _COUNTS)
        self.assertNotIn("bb", _COUNTS)
