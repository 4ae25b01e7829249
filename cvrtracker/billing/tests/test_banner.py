from datetime import timedelta

import time_machine
from django.test import override_settings
from django.utils import timezone

from cvrtracker.billing.tests.helpers import BillingTestCase


class BannerTests(BillingTestCase):
    def dashboard(self) -> str:
        self.client.force_login(self.bob)
        return self.client.get("/dashboard/").content.decode()

    def test_no_banner_early_in_the_trial(self):
        self.assertNotIn("billing-banner", self.dashboard())

    def test_a_trial_near_its_end_is_announced(self):
        with time_machine.travel(timezone.now() + timedelta(days=12)):
            self.assertIn("Your free trial ends in 2 days.", self.dashboard())

    def test_a_read_only_team_is_told_why(self):
        with time_machine.travel(timezone.now() + timedelta(days=15)):
            self.assertIn("Your account is read-only", self.dashboard())

    def test_the_banner_is_only_for_the_users_team(self):
        remote = self.subscribe()
        self.send("customer.subscription.updated", self.put_sub(id=remote["id"], status="past_due"))
        self.assertIn("Your last payment failed", self.dashboard())
        self.client.force_login(self.charlie)
        self.assertNotIn("billing-banner", self.client.get("/dashboard/").content.decode())

    @override_settings(BILLING_ENFORCED=False)
    def test_no_banner_without_billing(self):
        with time_machine.travel(timezone.now() + timedelta(days=15)):
            self.assertNotIn("billing-banner", self.dashboard())
