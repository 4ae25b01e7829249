"""The billing page: what each member sees in each state."""

from cvrtracker.accounts.models import User
from cvrtracker.billing.tests.helpers import DAY, BillingTestCase


class PageTests(BillingTestCase):
    def test_it_shows_the_trial_with_days_left_and_the_plans_to_the_owner(self):
        text = self.page_text()
        self.assertIn("14 days left", text)
        self.assertIn("Upgrade to Starter", text)
        self.assertIn("Upgrade to Pro", text)

    def test_a_teammate_sees_the_status_but_cannot_buy(self):
        text = self.page_text(self.bob)
        self.assertIn("14 days left", text)
        self.assertNotIn("Upgrade to", text)
        self.assertIn("Only the team owner", text)

    def test_it_lets_its_forms_reach_checkout_under_the_csp(self):
        self.client.force_login(self.alice)
        response = self.client.get("/billing/")
        csp = response["Content-Security-Policy"]
        self.assertIn(f"form-action 'self' {self.stripe.base_url}", csp)
        self.assertIn("script-src 'self'", csp)

    def test_an_active_subscription_shows_its_renewal_and_the_portal(self):
        self.subscribe(period_end=self.now() + 9 * DAY)
        text = self.page_text()
        self.assertIn("Renews on", text)
        self.assertIn("Manage billing", text)
        self.assertNotIn("Upgrade to", text)

    def test_a_past_due_subscription_shows_the_grace_date(self):
        remote = self.subscribe()
        self.send("customer.subscription.updated", self.put_sub(id=remote["id"], status="past_due"))
        self.assertIn("update it by", self.page_text())

    def test_it_shows_only_the_users_own_teams_invoices(self):
        remote = self.subscribe()
        self.send("invoice.paid", self.stripe.invoice(subscription=remote, id="in_alice"))
        self.assertIn("19.00 USD", self.page_text())
        self.assertNotIn("19.00 USD", self.page_text(self.charlie))

    def test_it_needs_a_login(self):
        self.assertEqual(self.client.get("/billing/").status_code, 302)

    def test_it_refuses_a_user_without_a_team(self):
        loner = User.objects.create_user("loner@example.org", "x" * 20, name="Loner")
        self.client.force_login(loner)
        self.assertEqual(self.client.get("/billing/").status_code, 404)


class NotConfiguredTests(BillingTestCase):
    def test_it_says_billing_is_not_configured_and_the_team_is_on_the_trial(self):
        with self.settings(STRIPE_SECRET_KEY="", STRIPE_WEBHOOK_SECRET="", BILLING_ENFORCED=False):
            text = self.page_text()
        self.assertIn("Billing is not configured", text)
        self.assertIn("Free trial", text)
        self.assertNotIn("Upgrade to", text)
