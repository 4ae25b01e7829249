"""The plan checks other apps call before connecting, syncing, tracking or serving the API."""

from datetime import timedelta

import time_machine
from django.test import override_settings
from django.utils import timezone

from cvrtracker.billing import limits, plans
from cvrtracker.billing.tests.helpers import BillingTestCase


class LimitTests(BillingTestCase):
    def test_the_trial_allows_everything_pro_does(self):
        self.assertTrue(limits.team_can(self.team, limits.API))
        self.assertTrue(limits.team_can(self.team, limits.ALERT_CHANNEL, channel=plans.SLACK))
        self.assertTrue(limits.team_can(self.team, limits.CONNECT_SELLER_ACCOUNT, current=4))
        self.assertFalse(limits.team_can(self.team, limits.CONNECT_SELLER_ACCOUNT, current=5))

    def test_starter_refuses_beyond_its_limits_with_a_message_and_an_upgrade_link(self):
        self.subscribe(price="price_starter")
        decision = limits.team_can(self.team, limits.CONNECT_SELLER_ACCOUNT, current=1)
        self.assertFalse(decision)
        self.assertIn("Starter plan includes 1 Amazon seller account.", decision.message)
        self.assertEqual(decision.upgrade_url, "/billing/")
        self.assertTrue(limits.team_can(self.team, limits.CONNECT_SELLER_ACCOUNT, current=0))
        self.assertIn(
            "are kept", limits.team_can(self.team, limits.TRACK_PRODUCT, current=50).message
        )
        self.assertFalse(limits.team_can(self.team, limits.API))
        self.assertFalse(limits.team_can(self.team, limits.ALERT_CHANNEL, channel=plans.WEBHOOK))
        self.assertTrue(limits.team_can(self.team, limits.ALERT_CHANNEL, channel=plans.EMAIL))

    def test_team_require_raises_the_refusal(self):
        self.subscribe(price="price_starter")
        with self.assertRaises(limits.PlanLimitError) as caught:
            limits.team_require(self.team, limits.API)
        self.assertEqual(caught.exception.upgrade_url, "/billing/")

    def test_history_depth_follows_the_plan(self):
        self.subscribe(price="price_starter")
        today = timezone.now().date()
        self.assertEqual(
            limits.history_start_for_team(self.team, today=today), today - timedelta(days=89)
        )

    def test_a_read_only_team_may_not_sync_or_add_anything(self):
        with time_machine.travel(timezone.now() + timedelta(days=15)):
            for feature in (limits.SYNC, limits.CONNECT_SELLER_ACCOUNT, limits.API):
                decision = limits.team_can(self.team, feature)
                self.assertFalse(decision)
                self.assertIn("Your data is kept", decision.message)

    def test_team_require_writable_refuses_only_a_read_only_team(self):
        self.subscribe(price="price_starter")
        limits.team_require_writable(self.team)  # over no limit, nothing to refuse
        remote = self.put_sub(id=self.sub().stripe_subscription_id, status="canceled")
        self.send("customer.subscription.deleted", remote)
        with self.assertRaises(limits.PlanLimitError) as caught:
            limits.team_require_writable(self.team)
        self.assertIn("read-only", caught.exception.message)
        self.assertEqual(caught.exception.upgrade_url, "/billing/")

    def test_the_room_to_track_agrees_with_team_can(self):
        self.subscribe(price="price_starter")
        for current in (0, 49, 50, 70):
            room = limits.tracked_products_room(self.team, current=current)
            self.assertEqual(room, max(0, 50 - current))
            allowed = limits.team_can(self.team, limits.TRACK_PRODUCT, current=current)
            self.assertEqual(room > 0, bool(allowed))
        remote = self.put_sub(id=self.sub().stripe_subscription_id, status="canceled")
        self.send("customer.subscription.deleted", remote)
        self.assertEqual(limits.tracked_products_room(self.team, current=0), 0)  # read-only

    def test_the_teams_are_independent(self):
        self.subscribe(price="price_starter")
        self.assertTrue(limits.team_can(self.charlies_team, limits.API))

    @override_settings(BILLING_ENFORCED=False)
    def test_without_billing_an_expired_trial_never_locks_anyone_out(self):
        with time_machine.travel(timezone.now() + timedelta(days=400)):
            self.assertFalse(limits.team_is_read_only(self.team))
            self.assertTrue(limits.team_can(self.team, limits.SYNC))
