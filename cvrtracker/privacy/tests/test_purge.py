"""The purge of a stopped seller connection (privacy/purge.py), told as the seller
lives it: connect, sync from the simulator, disconnect (or revoke at Amazon), zero
further calls, the data gone, the receipt, the email, the anonymous counters."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.apps import apps
from django.utils import timezone

from cvrtracker.alerts.models import AlertRule, Delivery, EvaluationCursor
from cvrtracker.alerts.tests.helpers import make_alert, make_rule
from cvrtracker.alerts.tests.rules_helpers import channel
from cvrtracker.amazon.client import ConnectionStopped
from cvrtracker.amazon.models import SellerConnection, SyncJob
from cvrtracker.amazon.services import connection_disconnect
from cvrtracker.amazon.sync.jobs import sync_job_run
from cvrtracker.amazon.sync.scheduler import schedule_due
from cvrtracker.amazon.tests.helpers import (
    all_jobs_succeeded,
    all_reports_finished,
    connect_seller,
    counters,
    drain,
    listed_in,
)
from cvrtracker.audit.models import AuditEntry
from cvrtracker.listings.models import Listing
from cvrtracker.listings.services import listings_admit
from cvrtracker.listings.tests.helpers import items
from cvrtracker.metrics.tests.helpers import make_connection
from cvrtracker.privacy import purge
from cvrtracker.privacy.models import AnonymousCounter, ConnectionDeletion, DataExport
from cvrtracker.privacy.purge import (
    KIND_OF,
    PLAN,
    ConnectionNotStopped,
    connection_purge,
    connection_purge_due,
    connection_stop_and_purge,
)
from cvrtracker.privacy.retention import RULES
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .purge_helpers import paths_to_connection, rows_of

US = "ATVPDKIKX0DER"
EXPORT_FILE = "0123456789abcdef0123456789abcdef.sealed"


def expected_counts(before: dict[str, int]) -> dict[str, int]:
    """The receipt's counts that `before` (rows per model) should give."""
    counts: Counter[str] = Counter()
    for label, n in before.items():
        if n:
            counts[KIND_OF[label]] += n
    return dict(counts)


class PlanTestCase(BaseTestCase):
    def test_the_plan_covers_every_model_that_reaches_a_seller_connection(self):
        walked = set(paths_to_connection())
        planned = {label for _, label, _ in PLAN}
        assert walked, "the walk found nothing"
        assert walked <= planned, f"not purged: {sorted(walked - planned)}"

    def test_it_is_a_retention_rule(self):
        rule = next(r for r in RULES if r.name == "amazon_data")
        assert rule.load() is connection_purge_due


class PurgeStoryTestCase(BaseTestCase):
    """The whole story against the simulator, with real synced data."""

    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, settings, tmp_path):
        self.sim, self.settings = sync_sim, settings
        settings.EXPORTS_DIR = tmp_path
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        self.seller_id = self.connection.selling_partner_id
        listed_in(self.connection, US)

    def sync(self) -> None:
        drain(self, lambda: all_reports_finished() and all_jobs_succeeded(), timeout=120)
        # Alerts about it, a rule scoped to it and the evaluation cursor.
        email = channel(self.alice)
        rule = make_rule(self.team, email, user=self.alice)
        AlertRule.objects.filter(pk=rule.pk).update(
            connection=self.connection, scope=AlertRule.Scope.CHOSEN
        )
        alert = make_alert(rule, self.connection)
        Delivery.objects.create(alert=alert, channel=email)
        EvaluationCursor.objects.create(connection=self.connection)
        # And a data export of the team (it holds this seller's data).
        # Named as privacy/export.py names its files (it removes no other name).
        (self.settings.EXPORTS_DIR / EXPORT_FILE).write_bytes(b"sealed")
        DataExport.objects.create(
            requested_by=self.alice,
            team=self.team,
            status=DataExport.Status.READY,
            file_name=EXPORT_FILE,
        )

    def calls(self) -> dict:
        return counters(self.sim, self.seller_id)

    def assert_nothing_left(self, pk: int) -> None:
        left = {label: n for label, n in rows_of(pk).items() if n}
        assert left == {}
        for label in paths_to_connection():
            assert not apps.get_model(label).objects.exists(), label
        assert not SellerConnection.objects.filter(pk=pk).exists()
        assert not DataExport.objects.exists()
        assert not list(self.settings.EXPORTS_DIR.iterdir())

    def assert_anonymous_counters(self, receipt: ConnectionDeletion) -> None:
        values = dict(AnonymousCounter.objects.values_list("key", "value"))
        assert values["connections_purged"] == 1
        assert values["listings_purged"] == receipt.counts["listings"]
        assert values["orders_purged"] == receipt.counts["orders"]
        assert values["sales_traffic_days_purged"] == receipt.counts["sales_traffic_days"]
        fields = {f.name for f in AnonymousCounter._meta.get_fields()}
        assert fields == {"id", "key", "value", "updated_at"}  # no team, no seller
        for key in values:
            assert self.seller_id not in key and str(self.connection.code) not in key

    def assert_emailed(self, receipt: ConnectionDeletion) -> None:
        (message,) = self.mailbox.messages
        assert message["To"] == "alice@example.org"
        assert "Your Amazon data was deleted" in message["Subject"]
        body = self.mailbox.body(message)
        assert f"- Listings: {receipt.counts['listings']}" in body
        assert f"- Orders: {receipt.counts['orders']}" in body
        assert f"{receipt.purged_at:%B} {receipt.purged_at.day}, {receipt.purged_at:%Y}" in body
        assert self.seller_id not in body
        assert receipt.notified_at is not None

    def test_disconnect_stops_every_call_and_the_purge_deletes_everything(self):
        self.sync()
        pk, code = self.connection.pk, self.connection.code
        before = rows_of(pk)
        for label in ("listings.Listing", "metrics.Order", "amazon.SalesTrafficDay"):
            assert before[label] > 0, label
        assert before["metrics.MetricBlock"] > 0 and before["listings.ListingSnapshot"] > 0
        # A worker is running the orders job: it loaded the job and its connection.
        in_flight = SyncJob.objects.select_related("connection").get(kind="orders")
        SyncJob.objects.filter(pk=in_flight.pk).update(run_id="running")
        in_flight.refresh_from_db()
        self.client.force_login(self.alice)
        started = time.monotonic()
        with self.captureOnCommitCallbacks() as stopped:
            self.client.post(f"/amazon/{code}/disconnect/")
        frozen = self.calls()
        # Stopped, key destroyed, nothing purged yet: no call leaves any more.
        row = SellerConnection.objects.get(pk=pk)
        assert row.wrapped_data_key is None and row.stopped_at is not None
        with pytest.raises(ConnectionStopped):
            sync_job_run(job=in_flight)
        with self.captureOnCommitCallbacks(execute=True):
            assert schedule_due() == 0
        assert self.calls() == frozen
        assert rows_of(pk) == before
        # The purge task (the signal, sent after commit, queues it; run inline here).
        with self.captureOnCommitCallbacks(execute=True):
            for callback in stopped:
                callback()
        seconds = time.monotonic() - started
        self.assert_nothing_left(pk)
        receipt = ConnectionDeletion.objects.get(connection_code=code)
        assert receipt.team == self.team and receipt.reason == "disconnected"
        assert receipt.stopped_at == row.stopped_at and receipt.purged_at >= receipt.stopped_at
        assert receipt.counts == expected_counts(before) | {"data_exports": 1}
        self.assert_emailed(receipt)
        self.assert_anonymous_counters(receipt)
        audit = AuditEntry.objects.get(action=AuditEntry.Action.AMAZON_DATA_PURGED)
        assert audit.team == self.team and audit.target_code == str(receipt.code)
        assert self.calls() == frozen  # and none during or after the purge
        after = sum(op["calls"] for op in self.calls().values())
        after -= sum(op["calls"] for op in frozen.values())
        print(
            f"\nPURGE FIGURES disconnect: rows before {dict(sorted(before.items()))}; "
            f"after {sum(rows_of(pk).values())}; {seconds:.2f} s from disconnect to purge "
            f"done; SP-API calls after disconnect: {after}"
        )
        # Twice is harmless: nothing left, no second email, counters unchanged.
        assert connection_purge(connection_id=pk, reason="disconnected") is None
        assert connection_purge_due(now=timezone.now() + timedelta(days=31)) == 0
        assert len(self.mailbox.messages) == 1
        assert AnonymousCounter.objects.get(key="connections_purged").value == 1

    def test_a_revocation_is_purged_the_same_counted_from_when_first_seen(self):
        self.sync()
        pk, code = self.connection.pk, self.connection.code
        before = rows_of(pk)
        SimClient(self.sim).post(f"/_sim/sellers/{self.seller_id}/revoke")
        revoked_at = timezone.now()
        # The sync meets invalid_grant; the stop's signal queues the purge (inline here).
        SyncJob.objects.update(next_run_at=timezone.now())
        drain(self, lambda: not SellerConnection.objects.filter(pk=pk, status="active").exists())
        frozen = self.calls()
        assert not SellerConnection.objects.filter(pk=pk).exists()
        receipt = ConnectionDeletion.objects.get(connection_code=code)
        assert receipt.reason == "revoked"
        assert revoked_at <= receipt.stopped_at <= receipt.purged_at
        # The revocation was seen on a call that changed nothing: the rows are those of
        # before it.
        assert receipt.counts == expected_counts(before) | {"data_exports": 1}
        self.assert_nothing_left(pk)
        self.assert_emailed(receipt)
        self.assert_anonymous_counters(receipt)
        with self.captureOnCommitCallbacks(execute=True):
            assert schedule_due() == 0
        assert self.calls() == frozen


class PurgeTestCase(BaseTestCase):
    """The purge without the simulator: crash, concurrency, the retention boundary."""

    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        listings_admit(connection=self.connection, marketplace_id=US, items=items(5))

    def stop(self, at: datetime | None = None) -> None:
        with time_machine.travel(at or timezone.now(), tick=False):
            connection_disconnect(connection=self.connection, actor=self.alice)

    def test_it_refuses_a_connection_that_is_not_stopped(self):
        with pytest.raises(ConnectionNotStopped):
            connection_purge(connection=self.connection, reason="disconnected")
        assert Listing.objects.count() == 5

    def test_it_resumes_after_a_crash_and_counts_each_row_once(self):
        self.stop()
        purge_batch, purge.BATCH = purge.BATCH, 2
        try:
            real = purge._finish
            with (
                mock.patch.object(purge, "_finish", side_effect=RuntimeError("killed")),
                pytest.raises(RuntimeError),
            ):
                connection_purge(connection=self.connection, reason="disconnected")
            assert not Listing.objects.exists()  # the batches done stay done
            assert SellerConnection.objects.filter(pk=self.connection.pk).exists()
            assert real is purge._finish
            receipt = connection_purge(connection=self.connection, reason="disconnected")
        finally:
            purge.BATCH = purge_batch
        assert receipt.counts == {"listings": 5}
        assert ConnectionDeletion.objects.count() == 1
        assert AnonymousCounter.objects.get(key="listings_purged").value == 5

    def test_two_purges_at_once_count_each_row_once(self):
        self.stop()
        # The second starts while the first is half-way: between two batches.
        purge_batch, purge.BATCH = purge.BATCH, 2
        real_count = purge._count
        started = []

        def count_and_race(receipt, deleted):
            real_count(receipt, deleted)
            if not started:
                started.append(True)
                connection_purge(connection_id=self.connection.pk, reason="disconnected")

        try:
            with mock.patch.object(purge, "_count", side_effect=count_and_race):
                first = connection_purge(connection=self.connection, reason="disconnected")
        finally:
            purge.BATCH = purge_batch
        assert first.counts == {"listings": 5}
        assert AnonymousCounter.objects.get(key="connections_purged").value == 1
        assert AuditEntry.objects.filter(action=AuditEntry.Action.AMAZON_DATA_PURGED).count() == 1

    def test_the_retention_rule_leaves_the_first_hour_to_the_task_then_purges(self):
        stopped = datetime(2026, 11, 1, 12, tzinfo=UTC)
        self.stop(stopped)
        with time_machine.travel(stopped + timedelta(minutes=59), tick=False):
            assert connection_purge_due(now=timezone.now()) == 0
        assert Listing.objects.count() == 5
        with time_machine.travel(stopped + timedelta(minutes=61), tick=False):
            assert connection_purge_due(now=timezone.now()) == 5
        assert not SellerConnection.objects.exists() and not Listing.objects.exists()
        receipt = ConnectionDeletion.objects.get()
        assert receipt.stopped_at == stopped
        assert receipt.purged_at == stopped + timedelta(minutes=61)

    def test_nothing_is_kept_past_the_purge_days_even_without_the_task(self):
        # Day 29: still inside the limit (the rule purged it long before anyway).
        stopped = datetime(2026, 11, 1, 12, tzinfo=UTC)
        self.stop(stopped)
        with time_machine.travel(stopped + timedelta(days=29), tick=False):
            assert connection_purge_due(now=timezone.now()) == 5
        assert not Listing.objects.exists()
        # Day 31 of another stopped account: the rule leaves nothing behind either.
        other = make_connection(self.team, self.alice, seller_id="A2OTHER")
        listings_admit(connection=other, marketplace_id=US, items=items(2))
        with time_machine.travel(stopped, tick=False):
            connection_disconnect(connection=other)
        with time_machine.travel(stopped + timedelta(days=31), tick=False):
            assert connection_purge_due(now=timezone.now()) == 2
        assert not SellerConnection.objects.exists()

    def test_with_zero_purge_days_the_rule_does_not_wait_for_the_task(self):
        self.settings_days(0)
        stopped = datetime(2026, 11, 1, 12, tzinfo=UTC)
        self.stop(stopped)
        with time_machine.travel(stopped + timedelta(seconds=1), tick=False):
            assert connection_purge_due(now=timezone.now()) == 5

    def settings_days(self, days: int) -> None:
        from django.test import override_settings

        override = override_settings(AMAZON_DATA_PURGE_DAYS=days)
        override.enable()
        self.addCleanup(override.disable)

    def test_the_rule_stops_and_purges_a_connection_disconnected_before_this_code(self):
        # Disconnected by the old code: its key and tokens still there, no stopped_at.
        SellerConnection.objects.filter(pk=self.connection.pk).update(
            status=SellerConnection.Status.DISCONNECTED
        )
        assert connection_purge_due(now=timezone.now()) == 5
        receipt = ConnectionDeletion.objects.get()
        assert receipt.stopped_at is not None and receipt.purged_at is not None

    def test_an_email_that_failed_is_sent_by_the_next_run(self):
        self.stop()
        with (
            mock.patch.object(purge, "email_send", side_effect=OSError("smtp down")),
            self.captureOnCommitCallbacks(execute=True),
        ):
            connection_purge(connection=self.connection, reason="disconnected")
        receipt = ConnectionDeletion.objects.get()
        assert receipt.notified_at is None and not self.mailbox.messages
        connection_purge_due(now=timezone.now())
        assert len(self.mailbox.messages) == 1
        connection_purge_due(now=timezone.now())
        assert len(self.mailbox.messages) == 1

    def test_stop_and_purge_for_an_account_deletion(self):
        connection_stop_and_purge(connection=self.connection, reason="account_deleted")
        assert not SellerConnection.objects.exists() and not Listing.objects.exists()
        receipt = ConnectionDeletion.objects.get()
        assert receipt.reason == "account_deleted" and receipt.counts["listings"] == 5
        entry = AuditEntry.objects.get(action=AuditEntry.Action.AMAZON_DISCONNECTED)
        assert entry.target_code == str(self.connection.code)

    def test_other_connections_are_untouched(self):
        other = make_connection(self.charlies_team, self.charlie, seller_id="A3CHARLIE")
        listings_admit(connection=other, marketplace_id=US, items=items(3))
        self.stop()
        connection_purge(connection=self.connection, reason="disconnected")
        assert Listing.objects.filter(connection=other).count() == 3
        assert SellerConnection.objects.get() == other
        assert other.data_key()  # its key is intact
