"""Issue 11, item 6: a title changed through the simulator's `/_sim/` is synced and its
alert reaches a real SMTP server on loopback and a real HTTP receiver, each exactly
once, with a valid signature; with the SMTP server down the delivery is retried and
arrives once when it is back; a rule that is off sends nothing.

The whole path is the production one: the listings sweep against the simulator, the
listings signal, the evaluation task, the deliveries and their sends (tasks run as
they are enqueued: the immediate backend), the delivery sweep the scheduler runs.
Real worker processes: test_workers.py.
"""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from cvrtracker.alerts import channels, delivery
from cvrtracker.alerts.models import Alert, AlertRule, Delivery
from cvrtracker.alerts.services import alert_rule_create, alert_rule_set_enabled
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.amazon.tests.conftest import synced_simulator
from cvrtracker.amazon.tests.helpers import connect_seller, run_until_done
from cvrtracker.listings.models import ListingChange
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import receiving, webhook_channel
from .test_delivery import _free_port, _refusing_smtp

Status = Delivery.Status
NEW_TITLE = "Garlic press, now in brushed steel"


@pytest.mark.slow
class TitleChangeEndToEndTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, settings):
        with synced_simulator(settings) as sim:
            self.sim = sim
            self.seller = sim.world.sellers[0]
            self.connection = connect_seller(sim, team=self.team, user=self.alice)
            connection_sync(connection=self.connection)
            self.sweep()  # the first sweep: every listing's first snapshot, no change
            assert not ListingChange.objects.filter(field="title").exists()
            yield

    def sweep(self) -> None:
        job = SyncJob.objects.get(kind=SyncJob.Kind.LISTINGS)
        # The next sweep is due now (it would come LISTINGS_SWEEP_MINUTES later).
        SyncJob.objects.filter(pk=job.pk).update(next_run_at=None)
        with self.captureOnCommitCallbacks(execute=True):
            run_until_done(SyncJob.objects.get(pk=job.pk))

    def change_title(self) -> str:
        product = next(p for p in self.seller.products if p.sku)
        answer = SimClient(self.sim).post(
            f"/_sim/sellers/{self.seller.id}/listings/{product.sku}",
            json_body={"field": "title", "value": NEW_TITLE, "catalogDelaySeconds": 0},
        )
        assert answer.status == 200, answer.body
        return product.asin

    def title_rule(self, *targets, enabled=True) -> AlertRule:
        return alert_rule_create(
            user=self.alice,
            kind=AlertRule.Kind.LISTING_CHANGED,
            params={"fields": ["title"]},
            scope=AlertRule.Scope.TRACKED,
            channels=list(targets),
            enabled=enabled,
        )

    def test_the_alert_reaches_smtp_and_the_webhook_once_each_signed(self):
        email = channels.alert_channel_create(
            user=self.alice, kind="email", name="Me", member=self.alice
        )
        with receiving() as receiver:
            hook = webhook_channel(self.alice, receiver.url)
            self.title_rule(email, hook)
            asin = self.change_title()
            self.sweep()
            # Another sweep, the sweep of due deliveries and an evaluation of its own:
            # nothing is sent twice.
            self.sweep()
            with self.captureOnCommitCallbacks(execute=True):
                delivery.deliveries_enqueue_due()

        alert = Alert.objects.get()
        assert (alert.kind, alert.asin) == (AlertRule.Kind.LISTING_CHANGED, asin)
        assert sorted(alert.deliveries.values_list("status", flat=True)) == [
            Status.SENT,
            Status.SENT,
        ]
        # Exactly one email, to the member, saying what changed.
        messages = self.mailbox.to(self.alice.email)
        assert len(messages) == 1
        assert NEW_TITLE in self.mailbox.body(messages[0])
        assert messages[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # Exactly one POST, signed with the channel's secret (the README's snippet).
        assert len(receiver.requests) == 1
        request = receiver.requests[0]
        namespace: dict = {}
        exec(delivery.WEBHOOK_VERIFY_SNIPPET, namespace)  # noqa: S102 - our own constant
        secret = channels.alert_channel_secret(hook)
        assert namespace["verify"](secret, request["headers"]["X-CVR-Signature"], request["body"])
        body = receiver.json()
        assert body["kind"] == "listing_changed"
        assert body["product"]["asin"] == asin
        assert body["details"]["after"] == NEW_TITLE

    @override_settings(ALERTS_RETRY_BASE_SECONDS=0.05, ALERTS_SWEEP_DELAY_SECONDS=0)
    def test_with_the_smtp_server_down_the_alert_is_retried_and_arrives_once(self):
        email = channels.alert_channel_create(
            user=self.alice, kind="email", name="Me", member=self.alice
        )
        self.title_rule(email)
        port = _free_port()
        mailers = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
            }
        }
        with self.settings(MAILERS=mailers):
            # Nothing listens on the port: the mail server is down.
            self.change_title()
            self.sweep()
            sent = Delivery.objects.get()
            assert sent.status == Status.PENDING and sent.attempts == 1
            assert "mail server could not be reached" in sent.last_error
            time.sleep(0.1)
            with self.captureOnCommitCallbacks(execute=True):
                delivery.deliveries_enqueue_due()  # still down: a second attempt
            sent.refresh_from_db()
            assert sent.status == Status.PENDING and sent.attempts == 2
            controller, box = _refusing_smtp(port)  # back
            try:
                time.sleep(0.5)
                for _ in range(3):  # the scheduler's sweep, again and again
                    with self.captureOnCommitCallbacks(execute=True):
                        delivery.deliveries_enqueue_due()
            finally:
                controller.stop()
        sent.refresh_from_db()
        assert (sent.status, sent.attempts) == (Status.SENT, 3)
        assert len(box.messages) == 1
        assert NEW_TITLE in box.messages[0].get_body(("plain",)).get_content()

    def test_a_rule_that_is_off_sends_nothing(self):
        email = channels.alert_channel_create(
            user=self.alice, kind="email", name="Me", member=self.alice
        )
        with receiving() as receiver:
            hook = webhook_channel(self.alice, receiver.url)
            rule = self.title_rule(email, hook, enabled=False)
            self.mailbox.clear()
            self.change_title()
            self.sweep()
            with self.captureOnCommitCallbacks(execute=True):
                delivery.deliveries_enqueue_due()
            assert ListingChange.objects.filter(field="title").count() == 1
            assert not Alert.objects.exists() and not Delivery.objects.exists()
            assert receiver.requests == []
            assert self.mailbox.to(self.alice.email) == []
            # Switched on afterwards: the change from before the opt-in is not sent either.
            alert_rule_set_enabled(user=self.alice, rule=rule, enabled=True)
            self.sweep()
            assert not Alert.objects.exists() and receiver.requests == []
