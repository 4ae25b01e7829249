"""Settings → Alerts: channels and rules, for the team's members only."""

from __future__ import annotations

import uuid

from django.urls import reverse

from cvrtracker.alerts.channels import alert_channel_pause, alert_channel_secret
from cvrtracker.alerts.models import AlertChannel, AlertRule, RuleChannel
from cvrtracker.alerts.services import alert_rule_create, alert_rule_set_enabled
from cvrtracker.audit.models import AuditEntry
from cvrtracker.test import BaseTestCase

from .pages_helpers import US, member_email, on_starter, seller, webhook

SETTINGS = reverse("alerts:settings")
NEW_RULE = reverse("alerts:rule_new")
NEW_CHANNEL = reverse("alerts:channel_new")
IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
Kind = AlertRule.Kind


class AlertsTestCase(BaseTestCase):
    def setUp(self):
        self.client.force_login(self.alice)

    def audited(self, action) -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(action=action).order_by("created_at", "pk"))

    def rule(self, *channels, kind=Kind.PRICE_CHANGED, params=None, user=None, **kwargs):
        return alert_rule_create(
            user=user or self.alice,
            kind=kind,
            params=params if params is not None else {"pct": 10},
            channels=channels,
            **kwargs,
        )


class SettingsPageTests(AlertsTestCase):
    def test_it_lists_the_teams_channels_and_rules_for_every_member(self):
        channel = member_email(self.alice, name="Alice's inbox")
        rule = self.rule(channel)
        alert_rule_set_enabled(user=self.bob, rule=rule, enabled=True)
        self.client.force_login(self.bob)
        response = self.client.get(SETTINGS)
        self.assertContains(response, "Alice&#x27;s inbox")
        self.assertContains(response, "alice@example.org")
        self.assertContains(response, "Price changed")
        self.assertContains(response, "Price moves by more than 10%")
        self.assertContains(response, "switched on by Bob")
        self.assertContains(response, reverse("alerts:rule_switch", args=[rule.code]))

    def test_another_teams_channels_and_rules_are_not_shown(self):
        self.rule(member_email(self.charlie, name="Charlie's inbox"), user=self.charlie)
        response = self.client.get(SETTINGS)
        self.assertNotContains(response, "Charlie")
        self.assertContains(response, "No alerts yet.")

    def test_a_webhook_shows_its_host_never_its_path_or_token(self):
        webhook(self.alice)
        response = self.client.get(SETTINGS)
        self.assertContains(response, "hooks.example.com")
        self.assertNotContains(response, "s3cret")

    def test_a_paused_channel_says_why_and_offers_resume(self):
        channel = member_email(self.alice)
        alert_channel_pause(channel=channel, reason="The mail server refused the address")
        response = self.client.get(SETTINGS)
        self.assertContains(response, "The mail server refused the address")
        self.assertContains(response, reverse("alerts:channel_resume", args=[channel.code]))

    def test_a_kind_the_plan_lacks_is_disabled_with_the_upgrade_link(self):
        on_starter(self.team)
        response = self.client.get(SETTINGS)
        self.assertContains(response, "Webhook alerts are not part of your Starter plan")
        self.assertContains(response, reverse("billing:page"))
        self.assertContains(response, f"{NEW_CHANNEL}?kind=email")
        self.assertNotContains(response, f"{NEW_CHANNEL}?kind=webhook")

    def test_the_settings_menu_and_the_main_menu_link_to_alerts(self):
        response = self.client.get(reverse("accounts:profile"))
        self.assertContains(response, f'href="{SETTINGS}"')
        self.assertContains(response, f'href="{reverse("alerts:history")}"')


class RuleFormTests(AlertsTestCase):
    def test_the_form_shows_only_the_settings_of_the_chosen_kind(self):
        response = self.client.get(NEW_RULE, {"kind": Kind.PRICE_CHANGED})
        self.assertContains(response, 'name="pct"')
        self.assertContains(response, "price moves by more than")
        self.assertNotContains(response, 'name="watch"')
        response = self.client.get(NEW_RULE, {"kind": Kind.LISTING_CHANGED})
        self.assertContains(response, 'name="watch"')
        self.assertNotContains(response, 'name="pct"')

    def test_changing_the_kind_keeps_what_was_already_chosen(self):
        connection = seller(self.team)
        response = self.client.get(
            NEW_RULE,
            {
                "kind": Kind.LOW_STOCK,
                "scope": "chosen",
                "place": str(connection.code),
                "asin_list": "B0PAGES001",
            },
        )
        self.assertContains(response, 'name="days"')
        self.assertContains(response, 'value="chosen" id="id_scope_1" required checked')
        self.assertContains(response, ">\nB0PAGES001</textarea>")
        self.assertContains(response, f'<option value="{connection.code}" selected>')

    def test_it_works_without_javascript(self):
        # The kind's GET form has a plain submit button for browsers without JavaScript.
        response = self.client.get(NEW_RULE)
        self.assertContains(response, '<noscript><button type="submit"')

    def test_it_creates_a_rule_that_is_off(self):
        channel = member_email(self.alice)
        response = self.client.post(
            NEW_RULE,
            {
                "kind": Kind.LISTING_CHANGED,
                "watch": ["title", "price"],
                "scope": "tracked",
                "channels": [channel.pk],
            },
        )
        rule = AlertRule.objects.get(team=self.team)
        self.assertRedirects(response, f"{SETTINGS}#rule-{rule.code}")
        self.assertFalse(rule.enabled)
        self.assertEqual(rule.params, {"fields": ["title", "price"]})
        self.assertEqual(list(rule.channels.all()), [channel])
        self.assertEqual(self.audited(AuditEntry.Action.ALERT_RULE_ON), [])

    def test_it_creates_a_rule_for_chosen_products_of_one_marketplace(self):
        connection = seller(self.team)
        response = self.client.post(
            NEW_RULE,
            {
                "kind": Kind.SESSIONS_DROP,
                "pct": "25",
                "scope": "chosen",
                "place": f"{connection.code}|{US}",
                "asin_list": "b0pages001, B0PAGES002\nB0PAGES001",
            },
        )
        self.assertEqual(response.status_code, 302)
        rule = AlertRule.objects.get(team=self.team)
        self.assertEqual(rule.params, {"pct": 25.0})
        self.assertEqual((rule.connection, rule.marketplace_id), (connection, US))
        self.assertEqual(rule.asins, ["B0PAGES001", "B0PAGES002"])

    def test_bad_input_gets_a_clear_error_and_stores_nothing(self):
        cases = [
            ({"kind": Kind.PRICE_CHANGED, "pct": "0", "scope": "tracked"}, "above 0"),
            ({"kind": Kind.PRICE_CHANGED, "pct": "ten", "scope": "tracked"}, "as a number"),
            ({"kind": Kind.LISTING_CHANGED, "scope": "tracked"}, "at least one field"),
            ({"kind": Kind.LOW_STOCK, "days": "400", "scope": "tracked"}, "at most 365"),
            ({"kind": Kind.LOW_STOCK, "days": "7", "scope": "chosen"}, "seller account"),
            (
                {"kind": Kind.LOW_STOCK, "days": "7", "scope": "chosen", "asin_list": "kettle!"},
                "These are not ASINs",
            ),
            ({"kind": Kind.LOW_STOCK, "days": "7", "scope": "marketplace"}, "marketplace"),
            ({"kind": Kind.LOW_STOCK, "days": "7", "scope": "everything"}, "valid choice"),
        ]
        for data, message in cases:
            with self.subTest(data=data):
                response = self.client.post(NEW_RULE, data)
                self.assertEqual(response.status_code, 400)
                self.assertContains(response, message, status_code=400)
        self.assertFalse(AlertRule.objects.exists())

    def test_an_unknown_kind_falls_back_to_the_first_one(self):
        response = self.client.get(NEW_RULE, {"kind": "telepathy"})
        self.assertContains(response, 'name="watch"')

    def test_another_teams_channel_cannot_be_chosen(self):
        theirs = member_email(self.charlie)
        response = self.client.post(
            NEW_RULE,
            {"kind": Kind.PRICE_CHANGED, "pct": "5", "scope": "tracked", "channels": [theirs.pk]},
        )
        self.assertContains(response, "Select a valid choice", status_code=400)
        self.assertFalse(AlertRule.objects.exists())

    def test_a_channel_outside_the_plan_is_shown_disabled(self):
        hook = webhook(self.alice)
        on_starter(self.team)
        response = self.client.get(NEW_RULE, {"kind": Kind.PRICE_CHANGED})
        self.assertContains(response, f'value="{hook.pk}" id="id_channels_0" disabled')
        self.assertContains(response, "not part of your Starter plan")

    def test_a_digest_offers_email_channels_only(self):
        mine = member_email(self.alice, name="Inbox")
        webhook(self.alice, name="Hook")
        response = self.client.get(NEW_RULE, {"kind": Kind.DIGEST})
        self.assertContains(response, f'value="{mine.pk}"')
        self.assertNotContains(response, "Hook (Webhook)")


class RuleChangeTests(AlertsTestCase):
    def test_switching_on_records_who_and_when_and_is_audited(self):
        rule = self.rule(member_email(self.alice))
        self.client.force_login(self.bob)
        response = self.client.post(
            reverse("alerts:rule_switch", args=[rule.code]), {"enabled": "on"}
        )
        self.assertRedirects(response, f"{SETTINGS}#rule-{rule.code}")
        rule.refresh_from_db()
        self.assertTrue(rule.enabled)
        self.assertEqual(rule.opted_in_by, self.bob)
        self.assertIsNotNone(rule.opted_in_at)
        [entry] = self.audited(AuditEntry.Action.ALERT_RULE_ON)
        self.assertEqual(entry.actor, self.bob)
        self.assertContains(self.client.get(SETTINGS), "switched on by Bob")

        self.client.post(reverse("alerts:rule_switch", args=[rule.code]), {"enabled": "off"})
        rule.refresh_from_db()
        self.assertFalse(rule.enabled)
        self.assertEqual(len(self.audited(AuditEntry.Action.ALERT_RULE_OFF)), 1)

    def test_switching_needs_a_post_and_a_clear_choice(self):
        rule = self.rule()
        url = reverse("alerts:rule_switch", args=[rule.code])
        self.assertEqual(self.client.get(url).status_code, 405)
        response = self.client.post(url, {"enabled": "maybe"}, follow=True)
        self.assertContains(response, "Choose whether to switch the alert on or off.")
        rule.refresh_from_db()
        self.assertFalse(rule.enabled)

    def test_switching_on_a_channel_the_plan_lacks_is_refused_with_the_reason(self):
        rule = self.rule(webhook(self.alice))
        on_starter(self.team)
        response = self.client.post(
            reverse("alerts:rule_switch", args=[rule.code]), {"enabled": "on"}, follow=True
        )
        self.assertContains(response, "not part of your Starter plan")
        rule.refresh_from_db()
        self.assertFalse(rule.enabled)

    def test_editing_a_rule_keeps_its_kind_and_changes_its_settings(self):
        channel = member_email(self.alice)
        rule = self.rule(channel)
        url = reverse("alerts:rule_edit", args=[rule.code])
        page = self.client.get(url)
        self.assertContains(page, 'name="pct"')
        self.assertContains(page, 'value="10"')
        self.assertNotContains(page, 'name="kind"')
        response = self.client.post(
            url, {"kind": Kind.DIGEST, "pct": "15", "scope": "tracked", "channels": []}
        )
        self.assertRedirects(response, f"{SETTINGS}#rule-{rule.code}")
        rule.refresh_from_db()
        self.assertEqual((rule.kind, rule.params), (Kind.PRICE_CHANGED, {"pct": 15.0}))
        self.assertEqual(list(rule.channels.all()), [])

    def test_a_bad_edit_is_refused_and_changes_nothing(self):
        rule = self.rule()
        response = self.client.post(
            reverse("alerts:rule_edit", args=[rule.code]), {"pct": "101", "scope": "tracked"}
        )
        self.assertContains(response, "at most 100", status_code=400)
        rule.refresh_from_db()
        self.assertEqual(rule.params, {"pct": 10})

    def test_deleting_asks_first(self):
        rule = self.rule()
        url = reverse("alerts:rule_delete", args=[rule.code])
        self.assertContains(self.client.get(url), "Delete this alert?")
        self.assertTrue(AlertRule.objects.filter(pk=rule.pk).exists())
        self.assertRedirects(self.client.post(url), SETTINGS)
        self.assertFalse(AlertRule.objects.filter(pk=rule.pk).exists())
        self.assertEqual(len(self.audited(AuditEntry.Action.ALERT_RULE_DELETED)), 1)


class ChannelPageTests(AlertsTestCase):
    def test_a_member_adds_their_own_email(self):
        self.client.force_login(self.bob)
        membership = self.bob.membership
        response = self.client.post(
            f"{NEW_CHANNEL}?kind=email",
            {"kind": "email", "name": "Bob", "recipient": str(membership.code)},
        )
        self.assertRedirects(response, SETTINGS)
        channel = AlertChannel.objects.get(team=self.team)
        self.assertEqual((channel.member, channel.status), (self.bob, AlertChannel.Status.ACTIVE))
        self.assertEqual(self.mailbox.messages, [])

    def test_another_address_waits_for_its_confirmation(self):
        response = self.client.post(
            f"{NEW_CHANNEL}?kind=email",
            {
                "kind": "email",
                "name": "Agency",
                "recipient": "other",
                "email": "ops@agency.example",
            },
            follow=True,
        )
        self.assertContains(response, "We emailed a confirmation link")
        self.assertContains(response, "Waiting for confirmation")
        [message] = self.mailbox.to("ops@agency.example")
        self.assertIn("/alerts/confirm/", self.link_in(message))

    def test_another_address_must_be_given(self):
        response = self.client.post(
            f"{NEW_CHANNEL}?kind=email", {"kind": "email", "name": "Agency", "recipient": "other"}
        )
        self.assertContains(response, "Enter the address to send to.", status_code=400)
        self.assertFalse(AlertChannel.objects.exists())

    def test_a_new_webhook_opens_its_page_with_the_secret_and_the_snippet(self):
        response = self.client.post(
            f"{NEW_CHANNEL}?kind=webhook",
            {"kind": "webhook", "name": "Ops", "url": "https://hooks.example.com/cvr"},
        )
        channel = AlertChannel.objects.get(team=self.team)
        self.assertRedirects(response, reverse("alerts:channel_edit", args=[channel.code]))
        self.client.force_login(self.bob)
        page = self.client.get(reverse("alerts:channel_edit", args=[channel.code]))
        self.assertContains(page, alert_channel_secret(channel))
        self.assertContains(page, "hmac.compare_digest")
        self.assertContains(page, "X-CVR-Delivery")
        self.assertContains(page, 'data-copy="verify-snippet"')

    def test_a_bad_url_is_refused_clearly(self):
        response = self.client.post(
            f"{NEW_CHANNEL}?kind=webhook", {"kind": "webhook", "name": "Ops", "url": "not a url"}
        )
        self.assertContains(response, "Enter the full URL", status_code=400)
        self.assertFalse(AlertChannel.objects.exists())

    def test_a_kind_outside_the_plan_shows_why_and_adds_nothing(self):
        on_starter(self.team)
        page = self.client.get(NEW_CHANNEL, {"kind": "slack"})
        self.assertContains(page, "Slack alerts are not part of your Starter plan")
        self.assertNotContains(page, 'name="url"')
        response = self.client.post(
            f"{NEW_CHANNEL}?kind=slack",
            {"kind": "slack", "name": "S", "url": "https://hooks.slack.com/services/T/B/X"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(AlertChannel.objects.exists())

    def test_an_unknown_kind_goes_back_to_the_settings(self):
        self.assertRedirects(self.client.get(NEW_CHANNEL, {"kind": "pigeon"}), SETTINGS)

    def test_renaming_a_channel(self):
        channel = member_email(self.alice)
        url = reverse("alerts:channel_edit", args=[channel.code])
        self.assertRedirects(self.client.post(url, {"name": "Renamed"}), url)
        channel.refresh_from_db()
        self.assertEqual(channel.name, "Renamed")
        response = self.client.post(url, {"name": ""})
        self.assertContains(response, "This field is required", status_code=400)

    def test_send_test_is_queued_and_the_worker_sends_it(self):
        channel = member_email(self.alice)
        with self.settings(TASKS=IMMEDIATE), self.captureOnCommitCallbacks() as queued:
            response = self.client.post(reverse("alerts:channel_test", args=[channel.code]))
        self.assertRedirects(response, SETTINGS)
        self.assertEqual(self.mailbox.messages, [])  # not inside the request
        with self.settings(TASKS=IMMEDIATE):
            for callback in queued:
                callback()
        self.assertEqual(len(self.mailbox.to("alice@example.org")), 1)

    def test_resume_brings_a_paused_channel_back(self):
        channel = member_email(self.alice)
        alert_channel_pause(channel=channel, reason="Refused")
        self.mailbox.clear()
        response = self.client.post(reverse("alerts:channel_resume", args=[channel.code]))
        self.assertRedirects(response, SETTINGS)
        channel.refresh_from_db()
        self.assertEqual(channel.status, AlertChannel.Status.ACTIVE)

    def test_removing_asks_first_and_keeps_the_rules(self):
        channel = member_email(self.alice)
        rule = self.rule(channel)
        url = reverse("alerts:channel_delete", args=[channel.code])
        self.assertContains(self.client.get(url), "1 alert sends to it today")
        self.assertRedirects(self.client.post(url), SETTINGS)
        self.assertFalse(AlertChannel.objects.exists())
        self.assertTrue(AlertRule.objects.filter(pk=rule.pk).exists())
        self.assertFalse(RuleChannel.objects.exists())


class OutsiderTests(AlertsTestCase):
    """Another team's codes answer 404, whatever the method; nothing changes."""

    def test_another_teams_rules_and_channels_are_404(self):
        channel = member_email(self.charlie)
        rule = self.rule(channel, user=self.charlie)
        urls = [
            ("get", reverse("alerts:rule_edit", args=[rule.code])),
            ("post", reverse("alerts:rule_edit", args=[rule.code])),
            ("post", reverse("alerts:rule_switch", args=[rule.code])),
            ("get", reverse("alerts:rule_delete", args=[rule.code])),
            ("post", reverse("alerts:rule_delete", args=[rule.code])),
            ("get", reverse("alerts:channel_edit", args=[channel.code])),
            ("post", reverse("alerts:channel_edit", args=[channel.code])),
            ("post", reverse("alerts:channel_test", args=[channel.code])),
            ("post", reverse("alerts:channel_resume", args=[channel.code])),
            ("get", reverse("alerts:channel_delete", args=[channel.code])),
            ("post", reverse("alerts:channel_delete", args=[channel.code])),
            ("get", reverse("alerts:rule_edit", args=[uuid.uuid4()])),
        ]
        for method, url in urls:
            with self.subTest(method=method, url=url):
                data = {"enabled": "on", "name": "x"} if method == "post" else {}
                self.assertEqual(getattr(self.client, method)(url, data).status_code, 404)
        rule.refresh_from_db()
        self.assertFalse(rule.enabled)
        self.assertEqual(AlertChannel.objects.get(pk=channel.pk).name, channel.name)

    def test_a_user_without_a_team_gets_404(self):
        from cvrtracker.accounts.models import User

        loner = User.objects.create_user("loner@example.org", "x" * 20)
        self.client.force_login(loner)
        self.assertEqual(self.client.get(SETTINGS).status_code, 404)
