"""Channel services: plan, encryption at rest, confirmation of outside addresses, resume."""

from django.core.exceptions import ValidationError
from django.db import connection as db
from django.test import override_settings

from cvrtracker.alerts import channels
from cvrtracker.alerts.models import AlertChannel
from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.limits import PlanLimitError
from cvrtracker.billing.models import Subscription
from cvrtracker.billing.services import subscription_for_team
from cvrtracker.test import BaseTestCase

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def raw_row(channel) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT target_enc, secret_enc FROM alerts_alertchannel WHERE id = %s", [channel.pk]
        )
        return repr(cursor.fetchone())


class ChannelCreateTests(BaseTestCase):
    def test_a_members_email_is_active_at_once_and_keeps_no_address(self):
        channel = channels.alert_channel_create(
            user=self.alice, kind="email", name="Bob", member=self.bob
        )
        self.assertEqual(channel.status, AlertChannel.Status.ACTIVE)
        self.assertIsNone(channel.target_enc)
        self.assertEqual(channels.alert_channel_target(channel), "bob@example.org")
        self.assertEqual(self.mailbox.messages, [])
        self.assertTrue(
            AuditEntry.objects.filter(
                action=AuditEntry.Action.ALERT_CHANNEL_ADDED, target_code=str(channel.code)
            ).exists()
        )

    def test_typing_a_members_confirmed_address_makes_it_a_member_channel(self):
        channel = channels.alert_channel_create(
            user=self.alice, kind="email", name="Me", target="ALICE@example.org"
        )
        self.assertEqual(channel.member, self.alice)
        self.assertEqual(channel.status, AlertChannel.Status.ACTIVE)

    def test_an_outside_address_waits_for_confirmation_and_gets_only_the_link(self):
        channel = channels.alert_channel_create(
            user=self.alice, kind="email", name="Agency", target="ops@agency.example"
        )
        self.assertEqual(channel.status, AlertChannel.Status.UNCONFIRMED)
        self.assertNotIn("agency", raw_row(channel))  # encrypted at rest
        [message] = self.mailbox.to("ops@agency.example")
        self.assertIn("confirm", message["Subject"].lower())
        # A GET (a mail scanner) confirms nothing; the button does.
        path = self.path_in(message)
        self.assertContains(self.client.get(path), "Confirm")
        channel.refresh_from_db()
        self.assertEqual(channel.status, AlertChannel.Status.UNCONFIRMED)
        self.assertContains(self.client.post(path), "Address confirmed")
        channel.refresh_from_db()
        self.assertEqual(channel.status, AlertChannel.Status.ACTIVE)
        self.assertIsNotNone(channel.confirmed_at)
        self.assertEqual(
            AuditEntry.objects.filter(action=AuditEntry.Action.ALERT_CHANNEL_CONFIRMED).count(), 1
        )

    def test_a_forged_or_expired_confirmation_link_is_refused(self):
        channel = channels.alert_channel_create(
            user=self.alice, kind="email", name="Agency", target="ops@agency.example"
        )
        path = self.path_in(self.mailbox.messages[0])
        response = self.client.post(path[:-3] + "xx/")
        self.assertEqual(response.status_code, 400)
        with override_settings(ALERTS_CONFIRM_MAX_AGE=-1):
            self.assertEqual(self.client.post(path).status_code, 400)
        channel.refresh_from_db()
        self.assertEqual(channel.status, AlertChannel.Status.UNCONFIRMED)

    def test_a_webhook_gets_a_secret_encrypted_at_rest(self):
        channel = channels.alert_channel_create(
            user=self.alice, kind="webhook", name="Ops", target="https://hooks.example.com/x"
        )
        secret = channels.alert_channel_secret(channel)
        self.assertTrue(secret.startswith("whsec_") and len(secret) > 40)
        self.assertEqual(channels.alert_channel_target(channel), "https://hooks.example.com/x")
        row = raw_row(channel)
        self.assertNotIn("hooks.example.com", row)
        self.assertNotIn(secret, row)

    def test_bad_input_gets_a_clear_error_and_stores_nothing(self):
        cases = [
            ({"kind": "email", "name": "x", "target": "not an address"}, "valid email"),
            ({"kind": "email", "name": "x"}, "email address"),
            ({"kind": "email", "name": "x", "member": None, "target": ""}, "email address"),
            ({"kind": "webhook", "name": "x", "target": "ftp://x.example"}, "https://"),
            ({"kind": "webhook", "name": "", "target": "https://x.example"}, "name"),
            ({"kind": "pager", "name": "x"}, "email, webhook or Slack"),
            ({"kind": "email", "name": "x", "member": self.charlie}, "member of your team"),
        ]
        for fields, words in cases:
            with self.subTest(fields=fields), self.assertRaises(ValidationError) as refused:
                channels.alert_channel_create(user=self.alice, **fields)
            self.assertIn(words, str(refused.exception))
        self.assertFalse(AlertChannel.objects.exists())

    def test_slack_urls_must_be_slack_incoming_webhooks(self):
        with self.settings(ALERTS_ALLOW_PRIVATE_TARGETS=False):
            with self.assertRaises(ValidationError):
                channels.alert_channel_create(
                    user=self.alice, kind="slack", name="s", target="https://evil.example/x"
                )
            channel = channels.alert_channel_create(
                user=self.alice,
                kind="slack",
                name="s",
                target="https://hooks.slack.com/services/T000/B000/XXXX",
            )
        self.assertIsNone(channel.secret_enc)

    def test_the_plan_decides_which_kinds_a_team_may_add(self):
        sub = subscription_for_team(team=self.team)
        Subscription.objects.filter(pk=sub.pk).update(
            plan="starter", status="active", stripe_subscription_id="sub_test"
        )
        with self.assertRaises(PlanLimitError) as refused:
            channels.alert_channel_create(
                user=self.alice, kind="webhook", name="Ops", target="https://x.example/h"
            )
        self.assertIn("Upgrade", str(refused.exception))
        channels.alert_channel_create(user=self.alice, kind="email", name="Me", member=self.alice)
        self.assertEqual(AlertChannel.objects.count(), 1)


class ChannelChangeTests(BaseTestCase):
    def test_changing_an_address_asks_for_confirmation_again(self):
        channel = channels.alert_channel_create(
            user=self.alice, kind="email", name="Me", member=self.alice
        )
        channels.alert_channel_update(
            user=self.alice, channel=channel, name="Agency", target="ops@agency.example"
        )
        channel.refresh_from_db()
        self.assertEqual(channel.status, AlertChannel.Status.UNCONFIRMED)
        self.assertIsNone(channel.member)
        self.assertEqual(len(self.mailbox.to("ops@agency.example")), 1)

    def test_a_paused_channel_resumes_and_is_audited(self):
        channel = channels.alert_channel_create(
            user=self.alice, kind="webhook", name="Ops", target="https://x.example/h"
        )
        self.assertTrue(channels.alert_channel_pause(channel=channel, reason="answered 410"))
        self.assertFalse(channels.alert_channel_pause(channel=channel, reason="again"))
        [told] = self.mailbox.to("alice@example.org")  # the owner, once
        self.assertIn("answered 410", self.mailbox.body(told))
        channels.alert_channel_resume(user=self.bob, channel=channel)
        channel.refresh_from_db()
        self.assertEqual(channel.status, AlertChannel.Status.ACTIVE)
        self.assertEqual((channel.pause_reason, channel.consecutive_failures), ("", 0))
        self.assertTrue(
            AuditEntry.objects.filter(
                action=AuditEntry.Action.ALERT_CHANNEL_RESUMED, actor=self.bob
            ).exists()
        )

    def test_deleting_a_channel_is_audited(self):
        channel = channels.alert_channel_create(
            user=self.alice, kind="email", name="Me", member=self.alice
        )
        channels.alert_channel_delete(user=self.alice, channel=channel)
        self.assertFalse(AlertChannel.objects.exists())
        self.assertTrue(
            AuditEntry.objects.filter(action=AuditEntry.Action.ALERT_CHANNEL_REMOVED).exists()
        )


class SendTestTests(BaseTestCase):
    def test_send_test_is_queued_and_the_worker_sends_it(self):
        channel = channels.alert_channel_create(
            user=self.alice, kind="email", name="Me", member=self.alice
        )
        with self.settings(TASKS=IMMEDIATE), self.captureOnCommitCallbacks() as queued:
            channels.alert_channel_send_test(user=self.alice, channel=channel)
        self.assertEqual(self.mailbox.messages, [])  # not inside the request
        for callback in queued:
            with self.settings(TASKS=IMMEDIATE):
                callback()
        [message] = self.mailbox.to("alice@example.org")
        self.assertIn("Test alert", message["Subject"])

    def test_an_unconfirmed_address_gets_its_link_again_instead_of_a_test(self):
        channel = channels.alert_channel_create(
            user=self.alice, kind="email", name="Agency", target="ops@agency.example"
        )
        with self.captureOnCommitCallbacks(execute=True):
            channels.alert_channel_send_test(user=self.alice, channel=channel)
        subjects = [m["Subject"] for m in self.mailbox.to("ops@agency.example")]
        self.assertEqual(len(subjects), 2)
        self.assertTrue(all("Confirm" in s for s in subjects))
