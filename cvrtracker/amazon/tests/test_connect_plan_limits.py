"""Connecting a seller account respects the team's plan; reconnecting never counts twice."""

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.views import SESSION_KEY, _plan_refusal
from cvrtracker.test import BaseTestCase

TRIAL_SELLER_ACCOUNTS = 5  # the trial has Pro's limits (cvrtracker/billing/plans.py)


class ConnectPlanLimitTests(BaseTestCase):
    def fill_the_plan(self):
        for i in range(TRIAL_SELLER_ACCOUNTS):
            SellerConnection.objects.create(team=self.team, region="NA", selling_partner_id=f"A{i}")

    def test_it_sends_a_team_at_its_limit_to_billing(self):
        self.fill_the_plan()
        self.client.force_login(self.alice)
        response = self.client.get("/amazon/connect/NA/", follow=True)
        self.assertEqual(response.redirect_chain[-1][0], "/billing/")
        self.assertContains(response, "Upgrade to connect more")
        self.assertNotIn(SESSION_KEY, self.client.session)

    def test_the_callback_refuses_a_new_seller_beyond_the_limit(self):
        self.client.force_login(self.alice)
        self.client.get("/amazon/connect/NA/")
        state = self.client.session[SESSION_KEY]["state"]
        self.fill_the_plan()  # e.g. a teammate's tab connected meanwhile
        response = self.client.get(
            "/amazon/callback/",
            {"state": state, "selling_partner_id": "ANEWSELLER", "spapi_oauth_code": "code"},
        )
        self.assertEqual(response.status_code, 402)
        self.assertContains(response, "Nothing was connected", status_code=402)
        self.assertFalse(SellerConnection.objects.filter(selling_partner_id="ANEWSELLER").exists())

    def test_reconnecting_a_held_seller_is_not_refused(self):
        self.fill_the_plan()
        self.assertEqual(_plan_refusal(self.team, selling_partner_id="A0"), "")
        self.assertIn("Upgrade", _plan_refusal(self.team, selling_partner_id="ANEWSELLER"))

    def test_disconnected_accounts_free_their_place(self):
        self.fill_the_plan()
        SellerConnection.objects.filter(selling_partner_id="A0").update(
            status=SellerConnection.Status.DISCONNECTED
        )
        self.assertEqual(_plan_refusal(self.team), "")
