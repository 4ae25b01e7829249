"""Each fault of the simulator against the sync: data complete, nothing partial, no extra calls."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cvrtracker.amazon.models import SalesTrafficDay, SellerConnection, SyncJob
from cvrtracker.amazon.sync.scheduler import schedule_due
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import (
    all_jobs_succeeded,
    all_reports_finished,
    connect_seller,
    counters,
    drain,
    listed_in,
    only_report_steps,
    sales_traffic_reports,
)

US = "ATVPDKIKX0DER"


class SyncFaultsTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, settings):
        self.sim, self.settings = sync_sim, settings
        self.sim_client = SimClient(sync_sim)
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        self.seller_id = self.connection.selling_partner_id
        listed_in(self.connection, US)

    def fault(self, operation, **fault):
        self.sim_client.post("/_sim/faults", json_body={"operation": operation, **fault})

    def make_due(self):
        """Skip the backoff of failed items: they are due now."""
        now = timezone.now()
        SalesTrafficDay.objects.exclude(next_attempt_at=None).update(next_attempt_at=now)
        SyncJob.objects.exclude(next_run_at=None).update(next_run_at=now)

    def test_a_429_storm_loses_nothing_and_the_quota_holds(self):
        self.settings.AMAZON_RETRY_ATTEMPTS = 8
        self.fault("*", throttle_ratio=0.5)

        def finished():
            self.make_due()
            return all_reports_finished() and all_jobs_succeeded()

        drain(self, finished, timeout=90)
        assert SalesTrafficDay.objects.filter(status="done").count() == 5
        calls = counters(self.sim, self.seller_id)
        assert calls["createReport"].get("throttled", 0) + calls["getReport"].get("throttled", 0)
        # Every report asked for is the one stored: throttled creates made no duplicates.
        assert sales_traffic_reports(self.sim, self.seller_id) == 5

    def test_a_failed_report_step_is_recorded_on_its_row_not_on_the_connection(self):
        only_report_steps(self.connection, US)
        self.fault("createReport", error_ratio=1)
        drain(self, lambda: SalesTrafficDay.objects.exclude(last_error="").exists())
        failed = SalesTrafficDay.objects.exclude(last_error="").get()
        assert failed.attempts == 1 and failed.next_attempt_at > timezone.now()
        assert "createReport: Amazon answered 5" in failed.last_error
        row = SellerConnection.objects.get()
        assert row.last_error == "" and row.status == "active"
        # Nothing moved the daily sync forward (a failure would: 15 minutes).
        assert row.next_sync_at > timezone.now() + timedelta(hours=23)

    def test_5xx_bursts_and_timeouts_are_retried_until_complete(self):
        self.settings.AMAZON_HTTP_TIMEOUT_SECONDS = 0.3
        self.settings.AMAZON_RETRY_ATTEMPTS = 6
        from cvrtracker.amazon import client

        client._http.cache_clear()
        self.fault("*", error_ratio=0.3)
        self.fault("getReport", latency_ms=600, error_ratio=0.2)

        def finished():
            self.make_due()
            if "did not answer in time" in "\n".join(logs.output):
                self.fault("getReport", error_ratio=0.2)  # the timeouts have had their turn
            return all_reports_finished() and all_jobs_succeeded()

        with self.assertLogs("cvrtracker.amazon.client", "WARNING") as logs:
            drain(self, finished, timeout=90)
        calls = counters(self.sim, self.seller_id)
        assert sum(op.get("error", 0) for op in calls.values()) > 0
        # Both faults happened and were retried: a 5xx answer and a request cut by our timeout.
        retried = "\n".join(logs.output)
        assert "Amazon answered 5" in retried
        assert "did not answer in time" in retried
        client._http.cache_clear()

    def test_cancelled_reports_are_days_without_data(self):
        self.fault("createReport", report_outcome="CANCELLED")
        drain(self, all_reports_finished)
        assert set(SalesTrafficDay.objects.values_list("status", flat=True)) == {"cancelled"}
        assert not MetricBlock.objects.exists()

    def test_a_fatal_report_is_explained_by_its_error_document_and_given_up_after_three(self):
        only_report_steps(self.connection, US)  # a listings run's report would be FATAL too
        self.fault("createReport", report_outcome="FATAL")
        reason = "Amazon: FATAL (Report processing failed.)"  # the simulator's error document
        drain(self, lambda: SalesTrafficDay.objects.filter(last_error=reason).count() == 5)
        fatal = SalesTrafficDay.objects.first()
        assert fatal.status == "fatal" and fatal.attempts == 1
        assert fatal.next_attempt_at > timezone.now()

        def given_up():
            self.make_due()
            return SalesTrafficDay.objects.filter(status="given_up").count() == 5

        drain(self, given_up)
        for row in SalesTrafficDay.objects.all():
            assert row.attempts == 3 and row.next_attempt_at is None
            assert row.last_error == f"Given up after 3 attempts: {reason}"
        # 3 per day, then no more budget spent (listings runs ask for their own reports).
        assert sales_traffic_reports(self.sim, self.seller_id) == 15
        with self.captureOnCommitCallbacks(execute=True):
            schedule_due()
        assert sales_traffic_reports(self.sim, self.seller_id) == 15
        assert SellerConnection.objects.get().last_error == ""
        self.client.force_login(self.alice)
        self.assertContains(self.client.get("/amazon/"), "5 days could not be fetched by report")

    def test_a_queued_report_is_cancelled_only_after_hours_and_a_working_one_never(self):
        from cvrtracker.simulator.state import Timings

        # Amazon's six hours, on the tests' fast clock: 0.6 s.
        self.settings.AMAZON_REPORT_STUCK_SECONDS = 6 * 3600
        self.fault("createReport", report_stuck=True)

        def first_requested():
            return SalesTrafficDay.objects.filter(status="requested").exists()

        drain(self, first_requested)
        assert SalesTrafficDay.objects.get(status="requested").attempts == 0
        stuck = "Amazon kept the report queued for over 6 h"
        drain(self, lambda: SalesTrafficDay.objects.filter(last_error=stuck).exists())
        assert counters(self.sim, self.seller_id)["cancelReport"].get("http_200") >= 1
        # A report Amazon is working on is waited for, however long it takes.
        self.sim_client.request("DELETE", "/_sim/faults")
        self.sim.sim.timings = self.sim.sim.reports.timings = Timings(
            queue_seconds=0, work_seconds=3600
        )
        self.make_due()
        drain(self, lambda: SalesTrafficDay.objects.filter(status="requested").exists())
        cancels = counters(self.sim, self.seller_id)["cancelReport"]["calls"]
        working = SalesTrafficDay.objects.get(status="requested")
        time.sleep(1.5)  # more than the stuck limit
        for _ in range(3):
            with self.captureOnCommitCallbacks(execute=True):
                schedule_due()
            time.sleep(0.3)
        assert SalesTrafficDay.objects.get(pk=working.pk).status == "requested"
        assert counters(self.sim, self.seller_id)["getReport"]["calls"] > 2
        assert counters(self.sim, self.seller_id)["cancelReport"]["calls"] == cancels
        # Once Amazon finishes it, the day is stored like any other.
        report = next(
            r for r in self.sim.sim.reports.for_seller(self.seller_id)
            if r.report_id == working.report_id
        )  # fmt: skip
        report.ended = report.started
        self.make_due()
        drain(self, lambda: SalesTrafficDay.objects.get(pk=working.pk).status == "done")
        assert counters(self.sim, self.seller_id)["cancelReport"]["calls"] == cancels

    def test_a_report_done_without_a_document_is_a_day_without_data(self):
        store = self.sim.sim.reports
        add = store.add

        def without_document(report):
            report = add(report)
            if report.report_type == "GET_SALES_AND_TRAFFIC_REPORT":
                report.document_id = None  # "a reportDocumentId if there is data available"
            return report

        store.add = without_document
        try:
            drain(self, all_reports_finished)
        finally:
            store.add = add
        assert set(SalesTrafficDay.objects.values_list("status", flat=True)) == {"cancelled"}
        assert not SalesTrafficDay.objects.exclude(last_error="").exists()
        assert not MetricBlock.objects.exists()

    def test_a_report_amazon_no_longer_knows_is_asked_for_again(self):
        def requested():
            with self.captureOnCommitCallbacks(execute=True):
                schedule_due()
            return SalesTrafficDay.objects.filter(status="requested", kind="day").exists()

        drain(self, requested)
        lost = SalesTrafficDay.objects.filter(status="requested", kind="day").first()
        # As after a restart of the simulator, or a report Amazon has purged: 404.
        SalesTrafficDay.objects.filter(pk=lost.pk).update(report_id="404404404")

        def finished():
            self.make_due()
            return all_reports_finished() and all_jobs_succeeded()

        drain(self, finished)
        lost.refresh_from_db()
        assert lost.status == "done" and lost.report_id != "404404404"
        calls = counters(self.sim, self.seller_id)
        assert calls["getReport"].get("http_404") == 1
        # 5 days + the lost one again (listings runs ask for their own reports).
        assert sales_traffic_reports(self.sim, self.seller_id) == 6

    def test_a_corrupt_document_is_a_clear_error_and_nothing_is_stored(self):
        self.fault("getReportDocument", corrupt_document=True)
        drain(
            self,
            lambda: SalesTrafficDay.objects.filter(last_error__contains="damaged").count() == 5,
        )
        assert not MetricBlock.objects.exists()
        self.sim_client.request("DELETE", "/_sim/faults")
        self.make_due()
        drain(self, all_reports_finished)
        assert MetricBlock.objects.exists()

    def test_an_access_token_expiring_mid_run_is_refreshed_once(self):
        drain(self, lambda: SalesTrafficDay.objects.filter(status="done").count() >= 2)
        # Amazon's clock moves past the token's hour; our cache still thinks it is fresh.
        self.sim_client.post("/_sim/clock", json_body={"seconds": 3700})
        before = counters(self.sim, self.seller_id)
        drain(self, lambda: all_reports_finished() and all_jobs_succeeded())
        after = counters(self.sim, self.seller_id)
        unauthorized = sum(op.get("unauthorized", 0) for op in after.values()) - sum(
            op.get("unauthorized", 0) for op in before.values()
        )
        assert unauthorized == 1  # one refused call, one refresh, then the same call again

    def test_a_revoked_grant_stops_the_connection_with_zero_further_calls(self):
        from cvrtracker.privacy.models import ConnectionDeletion

        drain(self, lambda: SalesTrafficDay.objects.filter(status="done").exists())
        self.sim_client.post(f"/_sim/sellers/{self.seller_id}/revoke")
        # Issue 12: the revocation stops the connection and its purge (run inline here
        # by the tasks' immediate backend) deletes it with its data.
        drain(self, lambda: not SellerConnection.objects.filter(status="active").exists())
        assert not SellerConnection.objects.exists()
        receipt = ConnectionDeletion.objects.get(connection_code=self.connection.code)
        assert receipt.reason == "revoked" and receipt.purged_at is not None
        assert receipt.counts["sales_traffic_days"] >= 1
        assert not SalesTrafficDay.objects.exists() and not MetricBlock.objects.exists()
        frozen = counters(self.sim, self.seller_id)
        with self.captureOnCommitCallbacks(execute=True):
            assert schedule_due() == 0
        SalesTrafficDay.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        with self.captureOnCommitCallbacks(execute=True):
            assert schedule_due() == 0
        assert counters(self.sim, self.seller_id) == frozen
