"""Deliveries: signed webhooks, emails with one-click unsubscribe, retries, pauses, leases."""

import email
import email.policy
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from django.test import override_settings
from django.utils import timezone

from cvrtracker.alerts import channels, delivery
from cvrtracker.alerts.models import AlertChannel, Delivery, RuleChannel
from cvrtracker.alerts.tests.helpers import (
    make_alert,
    make_connection,
    make_rule,
    receiving,
    webhook_channel,
)
from cvrtracker.audit.models import AuditEntry
from cvrtracker.test import BaseTestCase

Status = Delivery.Status


def send(d: Delivery) -> str:
    return delivery.delivery_send(delivery_id=d.pk)


class WebhookDeliveryTests(BaseTestCase):
    def setUp(self):
        self.connection = make_connection(self.team)

    def test_a_webhook_gets_a_signed_body_once(self):
        with receiving() as receiver:
            channel = webhook_channel(self.alice, receiver.url)
            rule = make_rule(self.team, channel)
            alert = make_alert(rule, self.connection)
            with self.captureOnCommitCallbacks() as queued:
                [d] = delivery.deliveries_create(alert=alert)
            self.assertEqual(len(queued), 1)  # enqueued once the alert commits
            self.assertEqual(delivery.deliveries_create(alert=alert), [d])  # idempotent
            self.assertEqual(send(d), Status.SENT)
            self.assertEqual(send(d), "")  # a second task for it sends nothing
        [request] = receiver.requests
        headers, body = request["headers"], request["body"]
        self.assertEqual(headers["X-CVR-Delivery"], str(d.code))
        # The documented verification snippet, run as written.
        namespace = {}
        exec(delivery.WEBHOOK_VERIFY_SNIPPET, namespace)  # noqa: S102 - our own constant
        secret = channels.alert_channel_secret(channel)
        self.assertTrue(namespace["verify"](secret, headers["X-CVR-Signature"], body))
        self.assertFalse(namespace["verify"](secret, headers["X-CVR-Signature"], body + b" "))
        self.assertFalse(namespace["verify"]("whsec_other", headers["X-CVR-Signature"], body))
        payload = receiver.json()
        self.assertEqual(
            set(payload),
            {"id", "kind", "created_at", "product", "marketplace", "day", "summary"}
            | {"details", "url"},
        )
        self.assertEqual(payload["id"], str(alert.code))
        self.assertEqual(payload["product"]["asin"], "B0ALERT001")
        self.assertEqual(payload["day"], "2026-11-20")
        self.assertTrue(payload["url"].endswith(f"/alerts/{alert.code}/"))
        d.refresh_from_db()
        self.assertEqual((d.status, d.attempts, d.claim_token), (Status.SENT, 1, ""))

    def test_an_old_signature_fails_the_snippets_freshness_check(self):
        namespace = {}
        exec(delivery.WEBHOOK_VERIFY_SNIPPET, namespace)  # noqa: S102
        header = delivery.webhook_signature("s", b"{}", timestamp=int(time.time()) - 3600)
        self.assertFalse(namespace["verify"]("s", header, b"{}"))

    def test_slack_gets_text_and_blocks(self):
        with receiving() as receiver:
            channel = channels.alert_channel_create(
                user=self.alice, kind="slack", name="Slack", target=receiver.url
            )
            alert = make_alert(make_rule(self.team, channel), self.connection)
            [d] = delivery.deliveries_create(alert=alert)
            self.assertEqual(send(d), Status.SENT)
        body = receiver.json()
        self.assertIn("Garlic press, stainless", body["text"])
        self.assertEqual(body["blocks"][0]["type"], "section")
        self.assertNotIn("X-CVR-Signature", receiver.requests[0]["headers"])

    @override_settings(ALERTS_RETRY_BASE_SECONDS=0.05)
    def test_transient_errors_are_retried_with_backoff_then_sent(self):
        with receiving(statuses=[503, 500]) as receiver:
            channel = webhook_channel(self.alice, receiver.url)
            alert = make_alert(make_rule(self.team, channel), self.connection)
            [d] = delivery.deliveries_create(alert=alert)
            self.assertEqual(send(d), Status.PENDING)
            d.refresh_from_db()
            self.assertEqual(d.last_error, "the receiver answered 503")
            self.assertGreater(d.next_attempt_at, timezone.now())
            self.assertEqual(send(d), "")  # not due yet
            time.sleep(0.1)
            self.assertEqual(send(d), Status.PENDING)
            time.sleep(0.4)
            self.assertEqual(send(d), Status.SENT)
        self.assertEqual(len(receiver.requests), 3)
        self.assertEqual(len({r["headers"]["X-CVR-Delivery"] for r in receiver.requests}), 1)
        d.refresh_from_db()
        self.assertEqual((d.attempts, d.last_error), (3, ""))
        channel.refresh_from_db()
        self.assertEqual(channel.consecutive_failures, 0)

    def test_the_backoff_grows_five_fold_with_jitter_and_a_cap(self):
        with self.settings(ALERTS_RETRY_BASE_SECONDS=60, ALERTS_RETRY_CAP_SECONDS=3600):
            for attempts, minutes in ((1, 1), (2, 5), (3, 25), (4, 60), (9, 60)):
                seconds = delivery.retry_delay(attempts).total_seconds()
                self.assertTrue(0.8 * minutes * 60 <= seconds <= 1.2 * minutes * 60)

    def test_a_permanent_error_pauses_the_channel_and_tells_the_owner(self):
        with receiving(statuses=[410]) as receiver:
            channel = webhook_channel(self.alice, receiver.url)
            rule = make_rule(self.team, channel)
            first = delivery.deliveries_create(alert=make_alert(rule, self.connection))[0]
            waiting = delivery.deliveries_create(
                alert=make_alert(rule, self.connection, key="change|2")
            )[0]
            self.assertEqual(send(first), Status.FAILED)
            self.assertEqual(send(waiting), "")
        channel.refresh_from_db()
        self.assertEqual(channel.status, AlertChannel.Status.PAUSED)
        self.assertIn("410", channel.pause_reason)
        waiting.refresh_from_db()
        self.assertEqual(waiting.status, Status.SKIPPED)  # not held: skipped, and says why
        [told] = self.mailbox.to("alice@example.org")
        self.assertIn("paused", told["Subject"])
        self.assertNotIn(receiver.url, self.mailbox.body(told))  # the URL stays secret
        # A new alert while paused is not sent either.
        later = delivery.deliveries_create(alert=make_alert(rule, self.connection, key="change|3"))[
            0
        ]
        self.assertEqual(later.status, Status.SKIPPED)
        self.assertEqual(len(receiver.requests), 1)

    @override_settings(ALERTS_PAUSE_AFTER_FAILURES=3, ALERTS_RETRY_BASE_SECONDS=0)
    def test_failing_many_times_in_a_row_pauses_the_channel(self):
        with receiving(statuses=[500] * 10) as receiver:
            channel = webhook_channel(self.alice, receiver.url)
            rule = make_rule(self.team, channel)
            ds = [
                delivery.deliveries_create(alert=make_alert(rule, self.connection, key=f"k{n}"))[0]
                for n in range(3)
            ]
            self.assertEqual([send(d) for d in ds], [Status.PENDING, Status.PENDING, Status.FAILED])
        channel.refresh_from_db()
        self.assertEqual(channel.status, AlertChannel.Status.PAUSED)
        self.assertIn("3 deliveries failed in a row", channel.pause_reason)
        self.assertEqual(Delivery.objects.filter(status=Status.SKIPPED).count(), 2)

    def test_a_refused_address_is_permanent(self):
        with self.settings(ALERTS_ALLOW_PRIVATE_TARGETS=True):
            channel = webhook_channel(self.alice, "https://127.0.0.1:9/hook")
        alert = make_alert(make_rule(self.team, channel), self.connection)
        [d] = delivery.deliveries_create(alert=alert)
        with self.settings(ALERTS_ALLOW_PRIVATE_TARGETS=False):
            self.assertEqual(send(d), Status.FAILED)
        d.refresh_from_db()
        self.assertIn("private", d.last_error)
        self.assertNotIn("127.0.0.1", d.last_error)

    def test_an_off_rule_sends_nothing(self):
        with receiving() as receiver:
            channel = webhook_channel(self.alice, receiver.url)
            rule = make_rule(self.team, channel, enabled=False)
            [d] = delivery.deliveries_create(alert=make_alert(rule, self.connection))
            self.assertEqual(d.status, Status.SKIPPED)
            self.assertEqual(send(d), "")
            # Switched off after the alert was raised, before it went: not sent.
            rule.enabled = True
            rule.save()
            d2 = delivery.deliveries_create(
                alert=make_alert(rule, self.connection, key="change|2")
            )[0]
            rule.enabled = False
            rule.save()
            self.assertEqual(send(d2), Status.SKIPPED)
        self.assertEqual(receiver.requests, [])

    @override_settings(ALERTS_DELIVERY_LEASE_SECONDS=0.3, ALERTS_SWEEP_DELAY_SECONDS=0)
    def test_a_worker_killed_mid_send_is_picked_up_by_the_sweep_once(self):
        with receiving() as receiver:
            channel = webhook_channel(self.alice, receiver.url)
            alert = make_alert(make_rule(self.team, channel), self.connection)
            [d] = delivery.deliveries_create(alert=alert)
            # A worker claimed it and died before sending.
            self.assertIsNotNone(delivery._claim(d.pk))
            self.assertEqual(send(d), "")  # held by the lease
            self.assertEqual(delivery.deliveries_enqueue_due(), 0)
            time.sleep(0.35)
            with self.captureOnCommitCallbacks() as queued:
                self.assertEqual(delivery.deliveries_enqueue_due(), 1)
            self.assertEqual(len(queued), 1)
            self.assertEqual(send(d), Status.SENT)
            self.assertEqual(delivery.deliveries_enqueue_due(), 0)
        self.assertEqual(len(receiver.requests), 1)
        d.refresh_from_db()
        self.assertEqual(d.attempts, 2)  # the lost attempt counts


class EmailDeliveryTests(BaseTestCase):
    def setUp(self):
        self.connection = make_connection(self.team)
        self.channel = channels.alert_channel_create(
            user=self.alice, kind="email", name="Bob", member=self.bob
        )

    def test_an_email_has_html_text_and_one_click_unsubscribe(self):
        rule = make_rule(self.team, self.channel)
        other = make_rule(self.team, self.channel, kind="price_changed")
        [d] = delivery.deliveries_create(alert=make_alert(rule, self.connection))
        self.assertEqual(send(d), Status.SENT)
        [message] = self.mailbox.to("bob@example.org")
        self.assertIn("Garlic press, stainless", message["Subject"])
        self.assertEqual(message["Message-ID"], f"<alert-{d.code}@127.0.0.1>")
        self.assertEqual(message["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        self.assertIn("Garlic press", message.get_body(("html",)).get_content())
        self.assertIn("Before: Garlic press", self.mailbox.body(message))
        link = message["List-Unsubscribe"].strip("<>")
        self.assertIn(link, self.mailbox.body(message))  # the same link in the text
        path = urlsplit(link).path
        # GET shows a button and changes nothing (mail scanners open links).
        self.assertContains(self.client.get(path), "Unsubscribe")
        self.assertFalse(RuleChannel.objects.exclude(unsubscribed_at=None).exists())
        # RFC 8058's POST, from the mail client: no login, no CSRF token.
        client = self.client_class(enforce_csrf_checks=True)
        response = client.post(path, {"List-Unsubscribe": "One-Click"})
        self.assertContains(response, "Unsubscribed")
        pair = RuleChannel.objects.get(rule=rule, channel=self.channel)
        self.assertIsNotNone(pair.unsubscribed_at)
        # Only that rule on that channel.
        self.assertIsNone(RuleChannel.objects.get(rule=other).unsubscribed_at)
        self.assertEqual(
            AuditEntry.objects.filter(action=AuditEntry.Action.ALERT_UNSUBSCRIBED).count(), 1
        )
        client.post(path)  # again: nothing new
        self.assertEqual(
            AuditEntry.objects.filter(action=AuditEntry.Action.ALERT_UNSUBSCRIBED).count(), 1
        )
        # The next alert of that rule is not delivered to that channel.
        self.assertEqual(
            delivery.deliveries_create(alert=make_alert(rule, self.connection, key="k2")), []
        )

    def test_a_member_who_left_the_team_gets_nothing(self):
        rule = make_rule(self.team, self.channel)
        self.bob.membership.delete()
        [d] = delivery.deliveries_create(alert=make_alert(rule, self.connection))
        self.assertEqual(d.status, Status.SKIPPED)
        self.assertIn("no longer a member", d.last_error)
        self.assertEqual(self.mailbox.to("bob@example.org"), [])

    def test_a_forged_unsubscribe_link_changes_nothing(self):
        make_rule(self.team, self.channel)
        response = self.client.post("/alerts/unsubscribe/forged:token/")
        self.assertEqual(response.status_code, 400)
        self.assertFalse(RuleChannel.objects.exclude(unsubscribed_at=None).exists())

    def test_an_unconfirmed_address_gets_nothing_but_the_confirmation(self):
        outside = channels.alert_channel_create(
            user=self.alice, kind="email", name="Agency", target="ops@agency.example"
        )
        rule = make_rule(self.team, outside)
        [d] = delivery.deliveries_create(alert=make_alert(rule, self.connection))
        self.assertEqual(d.status, Status.SKIPPED)
        self.assertIn("not been confirmed", d.last_error)
        self.assertEqual(send(d), "")
        [only] = self.mailbox.to("ops@agency.example")
        self.assertIn("Confirm", only["Subject"])

    def test_a_refused_recipient_is_permanent(self):
        Channel = AlertChannel  # noqa: N806
        Channel.objects.filter(pk=self.channel.pk).update(member=None)
        key = channels.channel_key(self.channel)
        Channel.objects.filter(pk=self.channel.pk).update(
            target_enc=key.encrypt_str("nobody@refuse.test", aad=self.channel.aad("target"))
        )
        controller, box = _refusing_smtp()
        try:
            with self.settings(
                MAILERS={
                    "default": {
                        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                        "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 5},
                    }
                }
            ):
                [d] = delivery.deliveries_create(
                    alert=make_alert(make_rule(self.team, self.channel), self.connection)
                )
                self.assertEqual(send(d), Status.FAILED)
        finally:
            controller.stop()
        self.channel.refresh_from_db()
        self.assertEqual(self.channel.status, AlertChannel.Status.PAUSED)


class _Box:
    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address.endswith("@refuse.test"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _refusing_smtp(port: int | None = None):
    box = _Box()
    controller = Controller(box, hostname="127.0.0.1", port=port or _free_port())
    controller.start()
    return controller, box


class MailServerDownTests(BaseTestCase):
    @override_settings(ALERTS_RETRY_BASE_SECONDS=0.05)
    def test_a_mail_server_down_is_retried_and_the_alert_arrives_once_when_it_is_back(self):
        connection = make_connection(self.team)
        channel = channels.alert_channel_create(
            user=self.alice, kind="email", name="Me", member=self.alice
        )
        port = _free_port()
        mailers = {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
            }
        }
        controller, box = _refusing_smtp(port)
        with self.settings(MAILERS=mailers):
            [d] = delivery.deliveries_create(
                alert=make_alert(make_rule(self.team, channel), connection)
            )
            controller.stop()  # the mail server goes down
            self.assertEqual(send(d), Status.PENDING)
            time.sleep(0.1)
            self.assertEqual(send(d), Status.PENDING)
            d.refresh_from_db()
            self.assertIn("mail server could not be reached", d.last_error)
            channel.refresh_from_db()
            self.assertEqual(channel.consecutive_failures, 0)  # not the channel's fault
            controller, box = _refusing_smtp(port)  # back
            try:
                time.sleep(0.4)
                self.assertEqual(send(d), Status.SENT)
                self.assertEqual(send(d), "")
                self.assertEqual(delivery.deliveries_enqueue_due(), 0)
            finally:
                controller.stop()
        self.assertEqual(len(box.messages), 1)
        d.refresh_from_db()
        self.assertEqual((d.status, d.attempts), (Status.SENT, 3))
        self.assertLess(d.sent_at - d.created_at, timedelta(seconds=30))
