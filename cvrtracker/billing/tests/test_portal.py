from django.urls import reverse

from cvrtracker.accounts.models import User
from cvrtracker.billing.tests.helpers import BillingTestCase

URL = "/billing/portal/"


class PortalTests(BillingTestCase):
    def setUp(self):
        self.client.force_login(self.alice)

    def test_it_sends_the_owner_to_the_customer_portal(self):
        self.subscribe()
        response = self.client.post(URL)
        [call] = self.stripe.calls("POST", "/v1/billing_portal/sessions")
        self.assertEqual(call.params["customer"], "cus_alice")
        self.assertEqual(call.params["return_url"], "http://testserver/billing/")
        self.assertEqual(response.status_code, 303)
        self.assertTrue(response["Location"].startswith(f"{self.stripe.base_url}/p/session/"))

    def test_it_needs_a_customer(self):
        response = self.client.post(URL)
        self.assertRedirects(response, reverse("billing:page"))
        self.assertEqual(self.stripe.requests, [])

    def test_a_stripe_5xx_shows_a_clean_error(self):
        self.subscribe()
        self.stripe.fail("POST", "/v1/billing_portal/sessions", 500)
        response = self.client.post(URL, follow=True)
        self.assertContains(response, "please try again")

    def test_it_refuses_a_teammate(self):
        self.subscribe()
        self.client.force_login(self.bob)
        self.assertEqual(self.client.post(URL).status_code, 404)

    def test_it_refuses_a_user_without_a_team(self):
        loner = User.objects.create_user("loner@example.org", "x" * 20, name="Loner")
        self.client.force_login(loner)
        self.assertEqual(self.client.post(URL).status_code, 404)
