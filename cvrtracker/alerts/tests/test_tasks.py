"""The hooks from the sync, the evaluation task, the periodic job and the digests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.core.management import call_command
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from cvrtracker.alerts.digest import digest_create, digest_period
from cvrtracker.alerts.models import Alert, AlertRule
from cvrtracker.alerts.selectors import alert_payload
from cvrtracker.alerts.tasks import alerts_schedule, evaluate_alerts
from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.lib import clock, periodic
from cvrtracker.lib.periodic import PeriodicRunner, periodic_jobs, periodic_register
from cvrtracker.listings.services import inventory_upsert_fba
from cvrtracker.test import BaseTestCase

from .rules_helpers import US, change, channel, connect, rule, store_days

Kind = AlertRule.Kind
IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
TITLE = {"action": "edited", "before": "Old", "after": "New"}


def enqueued() -> list[list]:
    return [
        row["args"]
        for path, row in DBTaskResult.objects.values_list("task_path", "args_kwargs")
        if path.endswith("evaluate_alerts")
    ]


class HooksTest(BaseTestCase):
    def setUp(self):
        self.connection = connect(self.alice)
        self.today = marketplace_today(US, clock.now())

    def test_stored_changes_enqueue_an_evaluation_only_when_an_event_rule_is_on(self):
        with self.captureOnCommitCallbacks(execute=True):
            change(self.connection, "title", TITLE)
        assert enqueued() == []
        rule(self.alice, Kind.LISTING_CHANGED, {"fields": ["title"]})
        with self.captureOnCommitCallbacks(execute=True):
            change(self.connection, "title", TITLE)
        assert enqueued() == [[self.connection.pk, "", False]]

    @override_settings(TASKS=IMMEDIATE)
    def test_a_change_stored_by_the_sync_reaches_its_alert_and_delivery(self):
        email = channel(self.alice)
        rule(self.alice, Kind.LISTING_CHANGED, {"fields": ["title"]}, channels=[email])
        with self.captureOnCommitCallbacks(execute=True):
            change(self.connection, "title", TITLE)
        alert = Alert.objects.get()
        assert list(alert.deliveries.values_list("channel", flat=True)) == [email.pk]

    @override_settings(TASKS=IMMEDIATE)
    def test_new_inventory_wakes_the_low_stock_rule(self):
        store_days(
            self.connection,
            {
                self.today - timedelta(days=n): {"B000000001": (100, 10, 100.0)}
                for n in range(1, 30)
            },
        )
        rule(self.alice, Kind.LOW_STOCK, {"days": 7})
        summary = {
            "sellerSku": "SKU-1",
            "asin": "B000000001",
            "inventoryDetails": {"fulfillableQuantity": 20},
        }
        with self.captureOnCommitCallbacks(execute=True):
            inventory_upsert_fba(connection=self.connection, marketplace_id=US, summaries=[summary])
        assert Alert.objects.get().kind == Kind.LOW_STOCK

    def test_new_recent_metrics_days_wake_the_state_rules_and_old_ones_do_not(self):
        rule(self.alice, Kind.BUY_BOX_LOW, {"pct": 50})
        old = self.today - timedelta(days=60)
        with self.captureOnCommitCallbacks(execute=True):
            store_days(self.connection, {old: {"B000000001": (100, 10, 10.0)}})
        assert enqueued() == []
        with self.captureOnCommitCallbacks(execute=True):
            store_days(
                self.connection,
                {self.today - timedelta(days=1): {"B000000001": (100, 10, 10.0)}},
            )
        assert enqueued() == [[self.connection.pk, US, True]]

    def test_the_task_skips_a_gone_account(self):
        assert evaluate_alerts.call(987654, "", True) == -1


class PeriodicTest(BaseTestCase):
    def test_the_periodic_job_enqueues_accounts_with_rules_on(self):
        connection = connect(self.alice)
        connect(self.charlie, seller_id="A1NORULES")
        rule(self.alice, Kind.CONVERSION_DROP, enabled=False)
        assert alerts_schedule() == 0
        rule(self.alice, Kind.CONVERSION_DROP)
        assert alerts_schedule() == 1
        assert enqueued() == [[connection.pk, "", True]]

    def test_the_alerts_job_is_registered_and_the_runner_spaces_and_isolates_jobs(self):
        assert {"alerts.schedule", "alerts.deliveries"} <= {job.name for job in periodic_jobs()}
        now = [0.0]
        calls = []
        runner = PeriodicRunner(clock=lambda: now[0])
        saved = periodic_jobs()
        try:
            periodic._jobs.clear()
            periodic_register(
                name="alerts.schedule", function=lambda: calls.append("a"), every_seconds=60
            )
            periodic_register(name="test.boom", function=lambda: 1 / 0, every_seconds=60)
            assert runner.run_due() == 2  # the failure is logged, the others still run
            now[0] = 30
            assert runner.run_due() == 0
            now[0] = 61
            assert runner.run_due() == 2
            assert calls == ["a", "a"]
        finally:
            periodic._jobs.clear()
            periodic._jobs.update({job.name: job for job in saved})

    def test_the_scheduler_command_runs_the_registered_jobs(self):
        connection = connect(self.alice)
        rule(self.alice, Kind.CONVERSION_DROP)
        call_command("scheduler", "--once")
        assert enqueued() == [[connection.pk, "", True]]


class DigestTest(BaseTestCase):
    def setUp(self):
        self.connection = connect(self.alice)
        self.today = marketplace_today(US, clock.now())

    def test_daily_covers_yesterday_and_weekly_comes_on_mondays(self):
        monday = date(2026, 11, 30)
        assert digest_period("daily", monday) == (date(2026, 11, 29), date(2026, 11, 29))
        assert digest_period("weekly", monday) == (date(2026, 11, 23), date(2026, 11, 29))
        assert digest_period("weekly", monday + timedelta(days=1)) is None

    def test_a_digest_holds_the_movers_and_recent_changes_and_is_stored_once(self):
        days = {}
        for n in range(1, 10):
            day = self.today - timedelta(days=n)
            falling = 40 if n == 1 else 100
            days[day] = {
                "B000000001": (1000, falling, 100.0),
                "B000000002": (1000, 100, 100.0),
            }
        store_days(self.connection, days)
        change(self.connection, "title", TITLE, on=self.today - timedelta(days=3))
        email = channel(self.alice)
        digest = rule(self.alice, Kind.DIGEST, {"frequency": "daily"}, channels=[email])
        now = clock.now()
        alert = digest_create(rule=digest, connection=self.connection, now=now)
        assert alert is not None and alert.day == self.today - timedelta(days=1)
        payload = alert_payload(alert)
        assert [m["asin"] for m in payload["movers"]["down"]] == ["B000000001"]
        assert payload["movers"]["down"][0]["title"] == "Product 1"
        assert payload["movers"]["down"][0]["conversion"] == 4.0
        assert [c["field"] for c in payload["changes"]] == ["title"]
        assert payload["frequency"] == "daily"
        assert list(alert.deliveries.values_list("channel", flat=True)) == [email.pk]
        assert digest_create(rule=digest, connection=self.connection, now=now) is None
        # The periodic job finds it stored too.
        alerts_schedule()
        assert Alert.objects.filter(kind=Kind.DIGEST).count() == 1

    def test_a_digest_rule_that_is_off_creates_nothing(self):
        rule(self.alice, Kind.DIGEST, {"frequency": "daily"}, enabled=False)
        alerts_schedule()
        assert not Alert.objects.exists()

    def test_weekly_digests_wait_for_monday(self):
        weekly = rule(self.alice, Kind.DIGEST, {"frequency": "weekly"})
        tuesday = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
        assert digest_create(rule=weekly, connection=self.connection, now=tuesday) is None
