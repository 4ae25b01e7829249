from django.test import SimpleTestCase, override_settings

from cvrtracker.billing import plans


@override_settings(STRIPE_PRICE_STARTER="price_s", STRIPE_PRICE_PRO="pro_monthly")
class PlanForPriceTests(SimpleTestCase):
    def test_it_matches_a_price_id(self):
        self.assertIs(plans.plan_for_price(price_id="price_s", lookup_key=None), plans.STARTER)

    def test_it_matches_a_lookup_key(self):
        self.assertIs(plans.plan_for_price(price_id="price_x", lookup_key="pro_monthly"), plans.PRO)

    def test_an_unknown_price_is_no_plan(self):
        self.assertIs(plans.plan_for_price(price_id="price_x", lookup_key=None), plans.NONE)

    @override_settings(STRIPE_PRICE_STARTER="")
    def test_an_unconfigured_plan_matches_nothing_and_cannot_be_bought(self):
        self.assertIs(plans.plan_for_price(price_id="", lookup_key=None), plans.NONE)
        self.assertFalse(plans.STARTER.purchasable)

    def test_paid_plans_differ_in_every_limit(self):
        starter, pro = plans.STARTER, plans.PRO
        self.assertLess(starter.tracked_products, pro.tracked_products)
        self.assertLess(starter.seller_accounts, pro.seller_accounts)
        self.assertLess(starter.history_days, pro.history_days)
        self.assertLess(starter.alert_channels, pro.alert_channels)
        self.assertFalse(starter.api_access)
        self.assertTrue(pro.api_access)
