from datetime import timedelta
from io import StringIO

import time_machine
from django.core.management import call_command
from django.utils import timezone

from cvrtracker.billing.tests.helpers import DAY, BillingTestCase


class TrialReminderTests(BillingTestCase):
    def run_command(self) -> str:
        out = StringIO()
        with self.captureOnCommitCallbacks(execute=True):
            call_command("billing_trial_reminders", stdout=out)
        return out.getvalue()

    def test_it_reminds_the_owner_once_near_the_end_of_the_trial(self):
        self.sub(), self.sub(self.charlies_team)
        with time_machine.travel(timezone.now() + timedelta(days=12)):
            self.assertIn("2 trial reminder(s) sent", self.run_command())
            self.assertIn("0 trial reminder(s) sent", self.run_command())
        [message] = self.mailbox.to("alice@example.org")
        self.assertIn("trial ends", message["Subject"])
        self.assertIn("choose a plan", self.mailbox.body(message))
        self.assertEqual(self.mailbox.to("bob@example.org"), [])

    def test_it_waits_until_three_days_are_left(self):
        self.sub()
        self.assertIn("0 trial reminder(s) sent", self.run_command())
        self.assertEqual(self.mailbox.to("alice@example.org"), [])

    def test_it_leaves_stripe_trials_to_stripes_event(self):
        self.subscribe(status="trialing", trial_end=self.now() + 2 * DAY)
        with time_machine.travel(timezone.now() + timedelta(days=12)):
            self.run_command()
        self.assertEqual(self.mailbox.to("alice@example.org"), [])
