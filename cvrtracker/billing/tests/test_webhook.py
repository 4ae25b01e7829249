"""The webhook endpoint: signatures over the raw body, duplicates, unknown types, Stripe errors."""

import json

from cvrtracker.billing.models import BillingRecord, Notice, ProcessedEvent, Subscription
from cvrtracker.billing.testing import fixture
from cvrtracker.billing.tests.helpers import WEBHOOK, BillingTestCase


class WebhookTests(BillingTestCase):
    def setUp(self):
        self.remote = self.put_sub(status="past_due")
        self.event = self.stripe.event(
            "invoice.payment_failed",
            self.stripe.invoice(subscription=self.remote, status="open", id="in_1"),
        )
        self.payload = json.dumps(self.event)

    def assert_nothing_written(self):
        self.assertEqual(ProcessedEvent.objects.count(), 0)
        self.assertEqual(BillingRecord.objects.count(), 0)
        self.assertEqual(Notice.objects.count(), 0)
        self.assertFalse(Subscription.objects.exclude(stripe_subscription_id="").exists())
        self.assertEqual(self.stripe.calls("GET", "/v1/subscriptions"), [])

    def test_it_applies_a_signed_event(self):
        response = self.post_event(self.event)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.sub().status, Subscription.Status.PAST_DUE)
        self.assertTrue(ProcessedEvent.objects.filter(event_id=self.event["id"]).exists())

    def test_it_refuses_a_wrong_secret(self):
        response = self.post_event(self.event, secret="whsec_someone_else")
        self.assertEqual(response.status_code, 400)
        self.assert_nothing_written()

    def test_it_refuses_a_tampered_body(self):
        header = self.sign(self.payload)
        tampered = self.payload.replace('"open"', '"paid"')
        response = self.client.post(
            WEBHOOK, data=tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
        self.assertEqual(response.status_code, 400)
        self.assert_nothing_written()

    def test_it_refuses_a_missing_signature(self):
        response = self.client.post(WEBHOOK, data=self.payload, content_type="application/json")
        self.assertEqual(response.status_code, 400)
        self.assert_nothing_written()

    def test_it_refuses_a_stale_signature_so_an_old_body_cannot_be_replayed(self):
        response = self.post_event(self.event, timestamp=self.now() - 301)
        self.assertEqual(response.status_code, 400)
        self.assert_nothing_written()

    def test_it_refuses_a_signed_body_that_is_not_json(self):
        response = self.post_event(self.event, payload="not json at all")
        self.assertEqual(response.status_code, 400)
        self.assert_nothing_written()

    def test_it_refuses_everything_when_no_secret_is_configured(self):
        with self.settings(STRIPE_WEBHOOK_SECRET=""):
            response = self.post_event(self.event, secret="")
        self.assertEqual(response.status_code, 400)
        self.assert_nothing_written()

    def test_it_refuses_get(self):
        self.assertEqual(self.client.get(WEBHOOK).status_code, 405)

    def test_a_duplicate_event_changes_nothing_twice(self):
        self.assertEqual(self.post_event(self.event).status_code, 200)
        self.assertEqual(self.post_event(self.event).status_code, 200)
        self.assertEqual(ProcessedEvent.objects.count(), 1)
        self.assertEqual(len(self.mailbox.to("alice@example.org")), 1)
        # The second delivery did not even ask Stripe.
        self.assertEqual(len(self.stripe.calls("GET", "/v1/subscriptions")), 1)

    def test_an_unknown_event_type_is_acknowledged_and_ignored(self):
        event = self.stripe.event("plan.created", fixture("plan"))
        response = self.post_event(event)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(ProcessedEvent.objects.get().type, "plan.created")
        self.assertEqual(self.stripe.requests, [])

    def test_a_stripe_5xx_while_refetching_saves_nothing_and_asks_for_redelivery(self):
        self.stripe.fail("GET", "/v1/subscriptions", 500)
        response = self.post_event(self.event)
        self.assertEqual(response.status_code, 503)
        self.assert_nothing_written_but_the_fetch()
        # Stripe redelivers the same event later, and it applies.
        self.assertEqual(self.post_event(self.event).status_code, 200)
        self.assertEqual(self.sub().status, Subscription.Status.PAST_DUE)
        self.assertEqual(len(self.mailbox.to("alice@example.org")), 1)

    def test_a_stripe_4xx_while_refetching_saves_nothing(self):
        self.stripe.fail("GET", "/v1/subscriptions", 404)
        response = self.post_event(self.event)
        self.assertEqual(response.status_code, 503)
        self.assert_nothing_written_but_the_fetch()

    def assert_nothing_written_but_the_fetch(self):
        self.assertEqual(ProcessedEvent.objects.count(), 0)
        self.assertEqual(BillingRecord.objects.count(), 0)
        self.assertEqual(Notice.objects.count(), 0)
        self.assertEqual(self.mailbox.to("alice@example.org"), [])
        self.assertFalse(Subscription.objects.exclude(stripe_subscription_id="").exists())
