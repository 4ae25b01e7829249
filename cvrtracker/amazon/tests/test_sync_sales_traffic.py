"""Sales & Traffic against the simulator: recent marketplace days only, newest first,
one report in flight, the budget honoured, and a 429 never retried in place."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import LISTED, SalesTrafficDay, SellerConnection
from cvrtracker.amazon.ratelimit import ST_INTERVAL_SECONDS
from cvrtracker.amazon.services import connection_sync_marketplaces
from cvrtracker.amazon.sync.sales_traffic import (
    THROTTLED,
    budget_for,
    sales_traffic_plan,
)
from cvrtracker.amazon.sync.scheduler import schedule_due
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.selectors import metrics_account_series
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import (
    all_jobs_succeeded,
    all_reports_finished,
    connect_seller,
    counters,
    drain,
    listed_in,
    sales_traffic_reports,
)

US = "ATVPDKIKX0DER"


class SalesTrafficTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, settings):
        self.sim, self.settings = sync_sim, settings
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        self.seller_id = self.connection.selling_partner_id
        listed_in(self.connection, US)  # Brazil, never opened, is asked nothing

    def only_reports(self) -> None:
        """The marketplaces as a listings run leaves them (something listed in the US only),
        and no daily sync due: only the report rows run."""
        connection_sync_marketplaces(connection=self.connection)
        self.connection.marketplaces = [
            {**m, LISTED: 5 if m["id"] == US else 0} for m in self.connection.marketplaces
        ]
        self.connection.next_sync_at = timezone.now() + timedelta(days=1)
        self.connection.save()

    def sync_everything(self):
        drain(self, lambda: all_reports_finished() and all_jobs_succeeded())

    def test_it_fetches_the_recent_marketplace_days_and_no_two_year_series(self):
        in_flight = []

        def finished():
            in_flight.append(SalesTrafficDay.objects.filter(status="requested").count())
            return all_reports_finished() and all_jobs_succeeded()

        drain(self, finished)
        today = marketplace_today(US)
        days = SalesTrafficDay.objects.order_by("-day")
        assert [d.day for d in days] == [today - timedelta(days=n) for n in range(1, 6)]
        assert {(d.kind, d.status) for d in days} == {("day", "done")}
        # The last three reported days have sales but no sessions yet.
        assert [d.is_pending for d in days] == [True, True, True, False, False]
        assert [d.pulled_age for d in days] == [1, 2, 3, 4, 5]
        # Asked newest first, one at a time: never two reports in flight.
        by_request = SalesTrafficDay.objects.order_by("requested_at")
        assert [d.day for d in by_request] == [d.day for d in days]
        assert max(in_flight) == 1
        # Each asked as the day at noon UTC, the same calendar date in every zone.
        reports = [
            r
            for r in self.sim.sim.reports.for_seller(self.seller_id)
            if r.report_type == "GET_SALES_AND_TRAFFIC_REPORT"
        ]
        assert len(reports) == 5
        for report in reports:
            assert report.data_start == report.data_end
            assert (report.data_start.hour, report.data_start.minute) == (12, 0)
        account = metrics_account_series(
            connection=self.connection,
            marketplace_id=US,
            start=today - timedelta(days=5),
            end=today,
        )
        assert len(account) == 5
        self.connection.refresh_from_db()
        recent = self.connection.recent_days()
        assert (recent["done"], recent["total"], recent["percent"]) == (5, 5, 100)
        row = SellerConnection.objects.get()
        assert row.sales_traffic_synced_at and row.listings_synced_at
        assert row.inventory_synced_at and row.orders_synced_at
        calls = counters(self.sim, self.seller_id)
        # 5 days, nothing twice, no series; the listings run asked for its merchant reports
        # (the US one, and Brazil's, which Amazon refuses: nothing is listed there).
        assert sales_traffic_reports(self.sim, self.seller_id) == 5
        assert calls["createReport"]["calls"] == 7 and calls["createReport"]["http_400"] == 1

    def test_each_stored_day_derives_changes_then_measures_impacts(self):
        with mock.patch("cvrtracker.amazon.sync.sales_traffic.derive_and_measure") as task:
            self.sync_everything()
        assert task.enqueue.call_count == 5
        assert {c.args for c in task.enqueue.call_args_list} == {(self.connection.pk, US)}

    def test_the_plan_is_idempotent_and_only_pending_days_come_back_the_next_day(self):
        self.sync_everything()
        self.connection.refresh_from_db()
        assert sales_traffic_plan(connection=self.connection) == 0
        assert not SalesTrafficDay.objects.exclude(status="done").exists()
        # The next marketplace day: D-1..D-3 were pending and are pulled again; the
        # two settled days wait for their 7th day.
        today = marketplace_today(US)
        for row in SalesTrafficDay.objects.all():  # as if each was fetched a day earlier
            row.pulled_age = (today - row.day).days - 1
            row.save(update_fields=["pulled_age"])
        sales_traffic_plan(connection=self.connection)
        due = SalesTrafficDay.objects.filter(status="due")
        assert due.count() == 3 and not due.filter(is_pending=False).exists()
        blocks = MetricBlock.objects.count()
        drain(self, all_reports_finished)
        assert MetricBlock.objects.count() == blocks
        # 5 first pulls and 3 re-pulls (the listings run asked for its merchant reports).
        assert sales_traffic_reports(self.sim, self.seller_id) == 8

    def test_the_budget_holds_back_requests_and_says_when_the_next_may_go(self):
        self.settings.AMAZON_ST_TIME_SCALE = 1  # Amazon's clock: one per 15 minutes
        self.only_reports()
        sales_traffic_plan(connection=self.connection)
        for _ in range(3):
            with self.captureOnCommitCallbacks(execute=True):
                schedule_due()
        assert counters(self.sim, self.seller_id)["createReport"]["calls"] == 1
        assert budget_for(self.connection).wait() > ST_INTERVAL_SECONDS - 60
        self.client.force_login(self.alice)
        page = self.client.get("/amazon/")
        self.assertContains(page, "1 of 24 Sales &amp; Traffic reports in the last 24 hours")
        self.assertContains(page, "Amazon allows 96 a day, shared with your other apps")
        self.assertContains(page, "Next one in 14")

    def test_a_429_is_not_retried_in_place_and_waits_fifteen_minutes(self):
        self.settings.AMAZON_ST_TIME_SCALE = 1
        SimClient(self.sim).post(
            "/_sim/faults", json_body={"operation": "createReport", "throttle_ratio": 1}
        )
        self.only_reports()
        sales_traffic_plan(connection=self.connection)
        for _ in range(3):
            with self.captureOnCommitCallbacks(execute=True):
                schedule_due()
        calls = counters(self.sim, self.seller_id)["createReport"]
        assert calls == {"calls": 1, "throttled": 1}  # the client's retry loop spent nothing
        row = SalesTrafficDay.objects.get(last_error=THROTTLED)
        assert row.status == "due" and row.attempts == 0
        wait = (row.next_attempt_at - timezone.now()).total_seconds()
        assert ST_INTERVAL_SECONDS - 60 < wait <= ST_INTERVAL_SECONDS
        # Every worker waits (the budget is blocked), not only this row.
        assert budget_for(self.connection).wait() > ST_INTERVAL_SECONDS - 60
        # Nothing told the seller, nothing brought the connection's daily sync forward.
        after = SellerConnection.objects.get()
        assert after.last_error == ""
        assert after.next_sync_at > timezone.now() + timedelta(hours=23)
