"""Stripe's events, applied through the signed webhook, scenario by scenario."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from cvrtracker.billing import limits, plans
from cvrtracker.billing.models import BillingRecord, Phase, ProcessedEvent, Subscription
from cvrtracker.billing.testing import fixture
from cvrtracker.billing.tests.helpers import DAY, BillingTestCase


class TrialTests(BillingTestCase):
    def test_a_new_team_is_on_a_local_trial_with_days_left(self):
        sub = self.sub()
        self.assertEqual(sub.phase(), Phase.TRIAL)
        self.assertEqual(sub.days_left(), 14)
        self.assertEqual(limits.plan_limits_for_team(self.team), plans.TRIAL)
        self.assertFalse(limits.team_is_read_only(self.team))

    def test_checkout_with_a_trial_makes_the_team_trialing_on_the_plan_bought(self):
        self.subscribe(status="trialing", trial_end=self.now() + 10 * DAY)
        sub = self.sub()
        self.assertEqual(sub.status, Subscription.Status.TRIALING)
        self.assertEqual(sub.stripe_customer_id, "cus_alice")
        self.assertEqual(sub.phase(), Phase.TRIAL)
        self.assertEqual(sub.days_left(), 10)
        self.assertEqual(sub.effective_plan(), plans.STARTER)

    def test_trial_will_end_sends_one_email_however_often_it_arrives(self):
        remote = self.subscribe(status="trialing", trial_end=self.now() + 3 * DAY)
        event = self.stripe.event("customer.subscription.trial_will_end", remote)
        self.post_event(event)
        self.post_event(event)
        # Stripe may also send a second event with a new id for the same trial.
        self.send("customer.subscription.trial_will_end", remote)
        [message] = self.mailbox.to("alice@example.org")
        self.assertIn("trial ends", message["Subject"])
        self.assertIn("/billing/", self.mailbox.body(message))

    def test_invoice_paid_after_the_trial_makes_it_active_and_records_the_invoice(self):
        remote = self.subscribe(status="trialing", trial_end=self.now() + 3 * DAY)
        remote = self.put_sub(id=remote["id"], status="active")
        self.send("invoice.paid", self.stripe.invoice(subscription=remote, total=1900))
        sub = self.sub()
        self.assertEqual(sub.phase(), Phase.ACTIVE)
        record = BillingRecord.objects.get(team=self.team)
        self.assertEqual((record.amount, record.currency, record.status), (1900, "usd", "paid"))

    def test_a_trial_ending_without_a_card_removes_access(self):
        remote = self.subscribe(status="trialing", trial_end=self.now() + 3 * DAY)
        remote = self.put_sub(id=remote["id"], status="paused")
        self.send("customer.subscription.paused", remote)
        self.assertEqual(self.sub().phase(), Phase.ENDED)
        self.assertTrue(limits.team_is_read_only(self.team))

    def test_an_expired_local_trial_is_read_only(self):
        with time_machine.travel(timezone.now() + timedelta(days=15)):
            self.assertEqual(self.sub().phase(), Phase.ENDED)
            self.assertTrue(limits.team_is_read_only(self.team))


class CancelTests(BillingTestCase):
    def test_cancel_at_period_end_keeps_access_until_the_items_period_end(self):
        remote = self.subscribe()
        end = self.now() + 12 * DAY
        remote = self.put_sub(id=remote["id"], cancel_at_period_end=True, period_end=end)
        self.send("customer.subscription.updated", remote)
        sub = self.sub()
        self.assertEqual(sub.phase(), Phase.CANCELLING)
        self.assertEqual(int(sub.ends_at().timestamp()), end)
        self.assertFalse(limits.team_is_read_only(self.team))
        self.assertIn(sub.ends_at().strftime("%B %-d, %Y"), self.page_text())

    def test_reactivating_restores_the_normal_state(self):
        remote = self.subscribe(cancel_at_period_end=True)
        remote = self.put_sub(id=remote["id"], cancel_at_period_end=False)
        self.send("customer.subscription.updated", remote)
        self.assertEqual(self.sub().phase(), Phase.ACTIVE)

    def test_deleted_removes_access_but_keeps_the_plan_for_viewing(self):
        remote = self.subscribe(price="price_pro_2026", lookup_key="pro_monthly")
        remote = self.put_sub(id=remote["id"], status="canceled", price="price_pro_2026")
        self.send("customer.subscription.deleted", remote)
        sub = self.sub()
        self.assertEqual(sub.phase(), Phase.ENDED)
        self.assertTrue(limits.team_is_read_only(self.team))
        self.assertFalse(limits.team_can(self.team, limits.SYNC))
        self.assertIn("read-only", self.page_text())


class PaymentFailureTests(BillingTestCase):
    def fail_payment(self, remote: dict, invoice_id: str = "in_failed_1", attempt: int = 1):
        remote = self.put_sub(id=remote["id"], status="past_due")
        invoice = self.stripe.invoice(
            subscription=remote, id=invoice_id, status="open", attempt_count=attempt
        )
        self.send("invoice.payment_failed", invoice)
        return remote, invoice

    def test_a_failed_payment_shows_a_banner_sends_one_email_and_grants_a_grace_period(self):
        remote, _ = self.fail_payment(self.subscribe())
        # Stripe retries the card: the next failure of the same invoice sends no new email.
        self.fail_payment(remote, attempt=2)
        sub = self.sub()
        self.assertEqual(sub.phase(), Phase.PAST_DUE)
        self.assertFalse(limits.team_is_read_only(self.team))
        [message] = self.mailbox.to("alice@example.org")
        self.assertIn("payment failed", message["Subject"])
        self.assertIn("19.00 USD", self.mailbox.body(message))
        self.client.force_login(self.bob)
        self.assertContains(self.client.get("/dashboard/"), "Your last payment failed")

    def test_access_becomes_read_only_when_the_grace_period_ends(self):
        self.fail_payment(self.subscribe())
        with time_machine.travel(timezone.now() + timedelta(days=8)):
            self.assertEqual(self.sub().phase(), Phase.ENDED)
            self.assertTrue(limits.team_is_read_only(self.team))

    def test_a_recovered_payment_makes_it_active_again(self):
        remote, invoice = self.fail_payment(self.subscribe())
        remote = self.put_sub(id=remote["id"], status="active")
        invoice.update(status="paid", amount_paid=invoice["total"])
        self.send("invoice.paid", invoice)
        sub = self.sub()
        self.assertEqual(sub.phase(), Phase.ACTIVE)
        self.assertIsNone(sub.past_due_since)
        self.assertEqual(BillingRecord.objects.get(stripe_invoice_id=invoice["id"]).status, "paid")

    def test_retries_exhausted_leave_the_team_read_only_with_its_data(self):
        remote, _ = self.fail_payment(self.subscribe())
        remote = self.put_sub(id=remote["id"], status="unpaid")
        self.send("customer.subscription.updated", remote)
        self.assertEqual(self.sub().phase(), Phase.ENDED)
        self.assertTrue(limits.team_is_read_only(self.team))
        self.assertEqual(BillingRecord.objects.filter(team=self.team).count(), 1)


class OrderingTests(BillingTestCase):
    def test_a_late_updated_after_deleted_leaves_it_canceled(self):
        remote = self.subscribe()
        stale = dict(remote, status="active")
        self.put_sub(id=remote["id"], status="canceled")
        self.send("customer.subscription.deleted", self.stripe.subscriptions[remote["id"]])
        self.send("customer.subscription.updated", stale, created=self.now() - 60)
        self.assertEqual(self.sub().status, Subscription.Status.CANCELED)

    def test_an_older_update_arriving_last_does_not_overwrite_the_newer_state(self):
        remote = self.subscribe()
        t1 = self.put_sub(id=remote["id"], price="price_starter")
        t2 = self.put_sub(id=remote["id"], price="price_pro_2026", lookup_key="pro_monthly")
        self.send("customer.subscription.updated", t2, created=self.now())
        self.send("customer.subscription.updated", t1, created=self.now() - 5)
        self.assertEqual(self.sub().effective_plan(), plans.PRO)

    def test_invoice_paid_before_checkout_completed_still_links_the_team(self):
        remote = self.put_sub(customer="cus_new")
        self.send("invoice.paid", self.stripe.invoice(subscription=remote))
        sub = self.sub()
        self.assertEqual(
            (sub.stripe_subscription_id, sub.stripe_customer_id), (remote["id"], "cus_new")
        )
        self.assertEqual(BillingRecord.objects.get().team, self.team)
        self.subscribe(id=remote["id"], customer="cus_new")
        self.assertEqual(self.sub().phase(), Phase.ACTIVE)

    def test_subscription_created_before_checkout_completed_is_linked_by_metadata(self):
        remote = self.put_sub(customer="cus_new", status="trialing", trial_end=self.now() + DAY * 5)
        self.send("customer.subscription.created", remote)
        self.assertEqual(self.sub().stripe_subscription_id, remote["id"])

    def test_a_late_event_about_a_previous_subscription_does_not_replace_the_new_one(self):
        old = self.subscribe(created=self.now() - 90 * DAY)
        self.put_sub(id=old["id"], status="canceled", created=self.now() - 90 * DAY)
        new = self.subscribe(created=self.now(), price="price_pro_2026")
        self.send("customer.subscription.deleted", self.stripe.subscriptions[old["id"]])
        sub = self.sub()
        self.assertEqual((sub.stripe_subscription_id, sub.phase()), (new["id"], Phase.ACTIVE))


class PlanChangeTests(BillingTestCase):
    def test_an_upgrade_through_the_portal_raises_the_limits(self):
        remote = self.subscribe()
        self.assertFalse(limits.team_can(self.team, limits.TRACK_PRODUCT, current=50))
        remote = self.put_sub(id=remote["id"], price="price_pro_2026", lookup_key="pro_monthly")
        self.send("customer.subscription.updated", remote)
        self.assertTrue(limits.team_can(self.team, limits.TRACK_PRODUCT, current=50))
        self.assertTrue(limits.team_can(self.team, limits.API))

    def test_an_unknown_price_grants_no_plan(self):
        self.subscribe(price="price_somebody_elses")
        self.assertEqual(self.sub().effective_plan(), plans.NONE)
        self.assertFalse(limits.team_can(self.team, limits.CONNECT_SELLER_ACCOUNT, current=0))


class ShapeTests(BillingTestCase):
    def test_the_fixtures_use_the_pinned_api_versions_field_placement(self):
        # If these change, the code reading them must change too.
        self.assertNotIn("current_period_end", fixture("subscription"))
        self.assertIn("current_period_end", fixture("subscription")["items"]["data"][0])
        self.assertIsNone(fixture("invoice")["subscription"])
        self.assertIn("subscription", fixture("invoice")["parent"]["subscription_details"])

    def test_the_period_end_comes_from_the_latest_item(self):
        end = self.now() + 20 * DAY
        self.subscribe(period_end=end)
        self.assertEqual(int(self.sub().current_period_end.timestamp()), end)

    def test_each_event_is_recorded_once_with_its_change(self):
        remote = self.subscribe()
        event = self.stripe.event("customer.subscription.updated", remote)
        self.post_event(event)
        self.post_event(event)
        self.assertEqual(ProcessedEvent.objects.filter(event_id=event["id"]).count(), 1)
