"""The first minute against the simulator: one Sales & Traffic report over the range,
asked before the daily reports, gives every product's totals; it is not asked again
once the daily days are in; a failed one is retried and loses nothing."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import SalesTrafficDay, SyncJob
from cvrtracker.amazon.ratelimit import memory_reset
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.amazon.sync.sales_traffic import (
    DAILY_COMPLETE,
    quick_range,
    sales_traffic_plan,
)
from cvrtracker.amazon.sync.scheduler import STEP_PRIORITY, schedule_due
from cvrtracker.metrics.models import MetricRangeTotals
from cvrtracker.metrics.quick import metrics_quick_totals
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller, counters, drain, only_report_steps, sales_traffic_reports
from .test_sales_traffic_plan import connection_in, market

US = "ATVPDKIKX0DER"


def range_row() -> SalesTrafficDay:
    return SalesTrafficDay.objects.get(kind="range")


class QuickTotalsTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, settings):
        self.sim, self.settings = sync_sim, settings
        settings.AMAZON_QUICK_TOTALS = True
        self.sim_client = SimClient(sync_sim)
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        self.seller_id = self.connection.selling_partner_id

    def truth(self, start, end) -> dict[str, tuple[int, int, int]]:
        """(sessions, page views, units) per child ASIN over [start, end], from the world."""
        world = self.sim.sim.world
        seller = next(s for s in world.sellers if s.id == self.seller_id)
        market = next(m for m in seller.marketplaces if m.id == US)
        as_of = marketplace_today(US)
        out = {}
        for product in seller.products:
            sums = [0, 0, 0]
            day = start
            while day <= end:
                st = world.day_stats(seller, product, day, market, as_of)
                sums[0] += st.sessions
                sums[1] += st.page_views
                sums[2] += st.units
                day += timedelta(days=1)
            if any(sums):
                out[product.asin] = tuple(sums)
        return out

    def test_the_range_report_goes_first_and_gives_every_products_totals(self):
        self.settings.AMAZON_ST_TIME_SCALE = 1  # Amazon's clock: one request per 15 minutes
        only_report_steps(self.connection, US)
        drain(self, lambda: range_row().status == "done")
        # One Sales & Traffic request went, and it was the range: the daily days wait
        # for the next 15-minute slot.
        assert sales_traffic_reports(self.sim, self.seller_id) == 1
        assert counters(self.sim, self.seller_id)["createReport"]["calls"] == 1
        assert not SalesTrafficDay.objects.filter(kind="day").exclude(status="due").exists()
        (report,) = [
            r
            for r in self.sim.sim.reports.for_seller(self.seller_id)
            if r.report_type == "GET_SALES_AND_TRAFFIC_REPORT"
        ]
        start, end = quick_range(today=marketplace_today(US))
        assert (report.data_start.date(), report.data_end.date()) == (start, end)
        assert report.options["asinGranularity"] == "CHILD"
        # The 30 days before the last three, whose traffic has not arrived yet.
        assert (end - start).days + 1 == 30
        assert end == marketplace_today(US) - timedelta(days=4)

        totals = metrics_quick_totals(connection=self.connection, marketplace_id=US)
        assert (totals.start, totals.end, totals.currency) == (start, end, "USD")
        truth = self.truth(start, end)
        assert len(truth) == 5
        assert {r.asin: (r.sessions, r.page_views, r.units_ordered) for r in totals.rows} == truth
        for row in totals.rows:
            assert (row.days, row.pending_days) == (30, 0)
            assert row.conversion_rate == row.units_ordered / row.sessions
        # Stored encrypted: no figure of the report in the row's plaintext columns.
        stored = MetricRangeTotals.objects.get()
        assert stored.rows and bytes(stored.values_enc)[:3] != b"MB1"
        # Not asked twice: the plan sees fresh totals.
        assert sales_traffic_plan(connection=self.connection) == 0
        assert SalesTrafficDay.objects.filter(kind="range").count() == 1

    def test_a_new_sellers_inventory_and_orders_runs_wait_for_the_range_totals(self):
        connection_sync(connection=self.connection)
        # Each marketplace that may sell (before the listings run: Brazil, never opened, too).
        ranges = SalesTrafficDay.objects.filter(kind="range")
        assert {r.status for r in ranges} == {"due"} and ranges.filter(marketplace_id=US)
        due = dict(SyncJob.objects.values_list("kind", "next_run_at"))
        now = timezone.now()
        # One worker busy with a 10,000-SKU inventory run for a minute and a half would
        # keep the range report's poll waiting (bench/first_minute.py).
        assert due["listings"] <= now
        assert due["inventory"] > now + timedelta(seconds=100)
        assert due["orders"] > now + timedelta(seconds=100)

    def test_it_is_not_asked_again_once_the_daily_days_of_the_range_are_in(self):
        # A range inside the 5-day report window of these tests: its two days are daily.
        self.settings.AMAZON_QUICK_TOTALS_DAYS = 2
        only_report_steps(self.connection, US)
        drain(self, lambda: not SalesTrafficDay.objects.exclude(status="done").exists())
        assert SalesTrafficDay.objects.filter(kind="range").count() == 1
        # Even with no fresh totals left, the daily days make a new one needless.
        MetricRangeTotals.objects.all().delete()
        assert sales_traffic_plan(connection=self.connection) == 0
        assert SalesTrafficDay.objects.filter(kind="range").count() == 1
        # A range row still waiting when the days came in is dropped, not sent.
        row = range_row()
        row.status, row.next_attempt_at = "failed", timezone.now()
        row.save()
        sales_traffic_plan(connection=self.connection)
        row.refresh_from_db()
        assert (row.status, row.last_error, row.next_attempt_at) == (
            "given_up",
            DAILY_COMPLETE,
            None,
        )
        reports = sales_traffic_reports(self.sim, self.seller_id)
        drain(self, lambda: not SalesTrafficDay.objects.filter(status="due").exists())
        assert sales_traffic_reports(self.sim, self.seller_id) == reports

    def test_a_fatal_range_report_is_explained_retried_and_nothing_is_lost(self):
        self.sim_client.post(
            "/_sim/report-faults",
            json_body={
                "outcome": "FATAL",
                "count": 1,
                "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
                "reason": "data_unavailable",
            },
        )
        only_report_steps(self.connection, US)
        drain(self, lambda: range_row().status == "fatal")
        row = range_row()
        assert "Please try a different date range" in row.last_error
        assert row.attempts == 1 and row.next_attempt_at > timezone.now()
        assert metrics_quick_totals(connection=self.connection, marketplace_id=US) is None
        # After its backoff the same range is asked again, and stored.
        SalesTrafficDay.objects.filter(kind="range").update(next_attempt_at=timezone.now())
        drain(self, lambda: range_row().status == "done")
        assert SalesTrafficDay.objects.filter(kind="range").count() == 1
        totals = metrics_quick_totals(connection=self.connection, marketplace_id=US)
        assert len(totals.rows) == 5

    def test_a_damaged_document_stores_nothing_and_is_asked_again(self):
        self.sim_client.post(
            "/_sim/faults", json_body={"operation": "getReportDocument", "corrupt_document": True}
        )
        only_report_steps(self.connection, US)
        drain(self, lambda: "damaged" in range_row().last_error)
        assert range_row().status == "failed"
        assert not MetricRangeTotals.objects.exists()
        self.sim_client.request("DELETE", "/_sim/faults")
        SalesTrafficDay.objects.filter(kind="range").update(next_attempt_at=timezone.now())
        drain(self, lambda: range_row().status == "done")
        assert metrics_quick_totals(connection=self.connection, marketplace_id=US).rows


class RangeFirstInTheQueueTestCase(BaseTestCase):
    @override_settings(
        TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
        AMAZON_RATELIMIT_STORAGE="memory",
    )
    def test_the_range_request_jumps_the_queued_listings_inventory_and_orders_runs(self):
        from django_tasks_db.models import DBTaskResult

        memory_reset()
        connection = connection_in(self.team, market(US))
        sales_traffic_plan(connection=connection)
        with self.captureOnCommitCallbacks(execute=True):
            schedule_due()
        (step,) = DBTaskResult.objects.filter(task_path__endswith="sales_traffic_step")
        assert step.args_kwargs["args"][0] == range_row().pk
        # One db_worker runs the highest priority first: the seller's totals do not wait
        # behind a 10,000-SKU listings run queued moments before.
        assert step.priority == STEP_PRIORITY > 0
