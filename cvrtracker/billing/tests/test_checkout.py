"""Starting Checkout: the request Stripe receives, and clean failures."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from cvrtracker.accounts.models import User
from cvrtracker.billing.models import ProcessedEvent, Subscription
from cvrtracker.billing.tests.helpers import BillingTestCase

NONCE = "0123456789abcdef0123456789abcdef"
URL = "/billing/checkout/"


class CheckoutTests(BillingTestCase):
    def setUp(self):
        self.client.force_login(self.alice)

    def checkout(self, plan: str = "starter", nonce: str = NONCE):
        return self.client.post(URL, {"plan": plan, "nonce": nonce})

    def test_it_creates_a_subscription_checkout_session_and_redirects_to_it(self):
        response = self.checkout()
        [call] = self.stripe.calls("POST", "/v1/checkout/sessions")
        [session] = self.stripe.sessions.values()
        self.assertEqual(response.status_code, 303)
        self.assertEqual(response["Location"], session["url"])
        self.assertEqual(call.params["mode"], "subscription")
        self.assertEqual(call.params["line_items[0][price]"], "price_starter")
        self.assertEqual(call.params["client_reference_id"], str(self.team.code))
        self.assertEqual(call.params["subscription_data[metadata][team_code]"], str(self.team.code))
        self.assertEqual(call.params["customer_email"], "alice@example.org")
        self.assertEqual(
            call.headers["Idempotency-Key"], f"checkout:{self.team.code}:starter:{NONCE}"
        )
        self.assertTrue(
            call.params["success_url"].endswith("/billing/return/?session_id={CHECKOUT_SESSION_ID}")
        )
        self.assertEqual(call.headers["Authorization"], "Bearer sk_test_fake")

    def test_it_keeps_the_rest_of_the_local_trial(self):
        self.checkout()
        [call] = self.stripe.calls("POST", "/v1/checkout/sessions")
        trial_end = int(call.params["subscription_data[trial_end]"])
        self.assertEqual(trial_end, int(self.sub().trial_ends_at.timestamp()))

    def test_it_offers_no_trial_in_the_last_two_days(self):
        Subscription.objects.filter(pk=self.sub().pk).update(
            trial_ends_at=timezone.now() + timedelta(hours=30)
        )
        self.checkout()
        [call] = self.stripe.calls("POST", "/v1/checkout/sessions")
        self.assertNotIn("subscription_data[trial_end]", call.params)

    def test_a_double_click_yields_one_session(self):
        first = self.checkout()
        second = self.checkout()
        self.assertEqual(first["Location"], second["Location"])
        self.assertEqual(len(self.stripe.sessions), 1)

    def test_a_price_given_by_lookup_key_is_resolved(self):
        self.checkout(plan="pro")
        [lookup] = self.stripe.calls("GET", "/v1/prices")
        self.assertEqual(lookup.params["lookup_keys[0]"], "pro_monthly")
        [call] = self.stripe.calls("POST", "/v1/checkout/sessions")
        self.assertEqual(call.params["line_items[0][price]"], "price_pro_2026")

    def test_a_stripe_4xx_shows_a_clean_error_and_saves_nothing(self):
        self.stripe.fail("POST", "/v1/checkout/sessions", 400)
        response = self.client.post(URL, {"plan": "starter", "nonce": NONCE}, follow=True)
        self.assertEqual(response.redirect_chain, [(reverse("billing:page"), 302)])
        self.assertContains(response, "refused the request. Nothing was changed")
        self.assert_untouched()

    def test_a_stripe_5xx_shows_a_clean_error_and_saves_nothing(self):
        self.stripe.fail("POST", "/v1/checkout/sessions", 503)
        response = self.client.post(URL, {"plan": "starter", "nonce": NONCE}, follow=True)
        self.assertEqual(response.redirect_chain, [(reverse("billing:page"), 302)])
        self.assertContains(response, "please try again")
        self.assert_untouched()

    def test_the_sdk_retries_a_5xx_with_the_same_idempotency_key(self):
        self.stripe.fail("POST", "/v1/checkout/sessions", 503)
        with self.settings(STRIPE_MAX_NETWORK_RETRIES=1):
            response = self.checkout()
        self.assertEqual(response.status_code, 303)
        first, second = self.stripe.calls("POST", "/v1/checkout/sessions")
        self.assertEqual(first.headers["Idempotency-Key"], second.headers["Idempotency-Key"])

    def test_coming_back_from_checkout_grants_nothing(self):
        self.checkout()
        [session] = self.stripe.sessions.values()
        self.stripe.complete_checkout(session["id"])
        response = self.client.get(f"/billing/return/?session_id={session['id']}")
        self.assertContains(response, "Stripe is confirming your payment")
        self.assertFalse(self.sub().on_stripe)
        self.assertEqual(self.client.get("/billing/status/").json()["on_stripe"], False)

    def test_a_team_with_a_live_subscription_is_sent_to_the_portal_instead(self):
        self.subscribe()
        self.stripe.requests.clear()
        self.checkout()
        self.assertEqual(self.stripe.calls("POST", "/v1/checkout/sessions"), [])
        self.assertContains(self.client.get(reverse("billing:page")), "Manage billing")

    def test_it_refuses_when_billing_is_not_configured(self):
        with self.settings(STRIPE_SECRET_KEY=""):
            response = self.checkout()
        self.assertRedirects(response, reverse("billing:page"))
        self.assertEqual(self.stripe.requests, [])

    def test_it_refuses_a_teammate(self):
        self.client.force_login(self.bob)
        self.assertEqual(self.checkout().status_code, 404)
        self.assertEqual(self.stripe.requests, [])

    def test_it_refuses_a_user_without_a_team(self):
        loner = User.objects.create_user("loner@example.org", "x" * 20, name="Loner")
        self.client.force_login(loner)
        self.assertEqual(self.checkout().status_code, 404)

    def test_it_refuses_get(self):
        self.assertEqual(self.client.get(URL).status_code, 405)

    def assert_untouched(self):
        sub = self.sub()
        self.assertEqual((sub.stripe_customer_id, sub.stripe_subscription_id), ("", ""))
        self.assertEqual(sub.status, Subscription.Status.TRIALING)
        self.assertEqual(ProcessedEvent.objects.count(), 0)
