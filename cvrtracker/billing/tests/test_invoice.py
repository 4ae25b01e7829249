"""Invoice records: visible to the team, kept for accounting after the team is gone."""

from cvrtracker.billing.models import BillingRecord
from cvrtracker.billing.tests.helpers import BillingTestCase


class InvoiceTests(BillingTestCase):
    def setUp(self):
        remote = self.subscribe()
        self.send("invoice.paid", self.stripe.invoice(subscription=remote, id="in_a", total=7900))
        self.record = BillingRecord.objects.get(stripe_invoice_id="in_a")
        self.url = f"/billing/invoices/{self.record.code}/"

    def test_the_owner_and_a_teammate_see_it(self):
        for user in (self.alice, self.bob):
            self.client.force_login(user)
            response = self.client.get(self.url)
            self.assertContains(response, "79.00 USD")
            self.assertContains(response, "in_a")

    def test_it_refuses_an_outsider(self):
        self.client.force_login(self.charlie)
        self.assertEqual(self.client.get(self.url).status_code, 404)

    def test_a_late_failure_event_does_not_drag_a_paid_invoice_back(self):
        remote = self.stripe.subscriptions[self.record.team.subscription.stripe_subscription_id]
        stale = self.stripe.invoice(subscription=remote, id="in_a", status="open", total=7900)
        self.send("invoice.payment_failed", stale)
        self.assertEqual(BillingRecord.objects.get(stripe_invoice_id="in_a").status, "paid")

    def test_records_outlive_the_team_with_minimal_fields(self):
        team_code = self.team.code
        self.team.delete()
        record = BillingRecord.objects.get(stripe_invoice_id="in_a")
        self.assertIsNone(record.team)
        self.assertEqual(record.team_code, team_code)
        self.assertEqual((record.amount, record.currency, record.status), (7900, "usd", "paid"))
