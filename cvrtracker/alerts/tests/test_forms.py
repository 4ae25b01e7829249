"""The Settings → Alerts forms turn what a person typed into the services' arguments."""

from __future__ import annotations

from cvrtracker.alerts.forms import ChannelForm, RuleForm, parse_asins
from cvrtracker.alerts.models import AlertRule
from cvrtracker.test import BaseTestCase

from .pages_helpers import CA, member_email, seller

Kind = AlertRule.Kind


class ParseAsinsTests(BaseTestCase):
    def test_it_splits_upper_cases_and_keeps_each_once(self):
        asins, rejected = parse_asins(" b0pages001,B0PAGES002;\n\tB0PAGES001  ")
        self.assertEqual((asins, rejected), (["B0PAGES001", "B0PAGES002"], []))

    def test_it_names_what_is_not_an_asin(self):
        self.assertEqual(
            parse_asins("B0PAGES001 kettle B0SHORT"), (["B0PAGES001"], ["kettle", "B0SHORT"])
        )


class RuleFormTests(BaseTestCase):
    def form(self, kind, data, **kwargs) -> RuleForm:
        return RuleForm({"kind": kind, **data}, team=self.team, kind=kind, **kwargs)

    def test_each_kind_has_only_its_own_settings(self):
        expected = {
            Kind.LISTING_CHANGED: {"watch"},
            Kind.LISTING_SUPPRESSED: set(),
            Kind.LISTING_ISSUE: {"severity"},
            Kind.OUT_OF_STOCK: {"back_in_stock"},
            Kind.LOW_STOCK: {"days"},
            Kind.PRICE_CHANGED: {"pct"},
            Kind.BUY_BOX_LOW: {"pct"},
            Kind.CONVERSION_DROP: set(),
            Kind.SESSIONS_DROP: {"pct"},
            Kind.DIGEST: {"frequency"},
        }
        for kind, params in expected.items():
            with self.subTest(kind=kind):
                form = RuleForm(team=self.team, kind=kind)
                self.assertEqual({f.name for f in form.param_fields}, params)

    def test_params_follow_the_models_contract(self):
        cases = [
            (Kind.LISTING_CHANGED, {"watch": ["title", "brand"]}, {"fields": ["title", "brand"]}),
            (Kind.LISTING_ISSUE, {"severity": "warning"}, {"severity": "warning"}),
            (Kind.OUT_OF_STOCK, {}, {"back_in_stock": False}),
            (Kind.OUT_OF_STOCK, {"back_in_stock": "on"}, {"back_in_stock": True}),
            (Kind.LOW_STOCK, {"days": "10"}, {"days": 10}),
            (Kind.BUY_BOX_LOW, {"pct": "80.5"}, {"pct": 80.5}),
            (Kind.DIGEST, {"frequency": "weekly"}, {"frequency": "weekly"}),
            (Kind.CONVERSION_DROP, {}, {}),
        ]
        for kind, data, params in cases:
            with self.subTest(kind=kind, data=data):
                form = self.form(kind, {"scope": "tracked", **data})
                self.assertTrue(form.is_valid(), form.errors)
                self.assertEqual(form.cleaned_data["params"], params)

    def test_the_tracked_scope_names_no_account_and_no_asins(self):
        connection = seller(self.team)
        form = self.form(
            Kind.CONVERSION_DROP,
            {"scope": "tracked", "place": str(connection.code), "asin_list": "B0PAGES001"},
        )
        self.assertTrue(form.is_valid(), form.errors)
        data = form.cleaned_data
        self.assertEqual(
            (data["connection"], data["marketplace_id"], data["asins"]), (None, "", [])
        )

    def test_a_marketplace_scope_needs_a_marketplace_not_just_an_account(self):
        connection = seller(self.team)
        form = self.form(
            Kind.CONVERSION_DROP, {"scope": "marketplace", "place": str(connection.code)}
        )
        self.assertFalse(form.is_valid())
        self.assertIn("Choose a seller account's marketplace.", form.errors["place"])
        form = self.form(
            Kind.CONVERSION_DROP, {"scope": "marketplace", "place": f"{connection.code}|{CA}"}
        )
        self.assertTrue(form.is_valid(), form.errors)
        self.assertEqual(
            (form.cleaned_data["connection"], form.cleaned_data["marketplace_id"]), (connection, CA)
        )

    def test_another_teams_account_is_not_a_choice(self):
        theirs = seller(self.charlies_team, "A1CHARLIE")
        form = self.form(
            Kind.CONVERSION_DROP,
            {"scope": "chosen", "place": str(theirs.code), "asin_list": "B0PAGES001"},
        )
        self.assertFalse(form.is_valid())
        self.assertIn("place", form.errors)

    def test_too_many_asins_are_refused(self):
        connection = seller(self.team)
        many = " ".join(f"B0{n:08d}" for n in range(501))
        form = self.form(
            Kind.LOW_STOCK,
            {"days": "5", "scope": "chosen", "place": str(connection.code), "asin_list": many},
        )
        self.assertFalse(form.is_valid())
        self.assertIn("at most 500", form.errors["asin_list"][0])

    def test_an_existing_rule_fills_the_form(self):
        connection = seller(self.team)
        channel = member_email(self.alice)
        rule = AlertRule.objects.create(
            team=self.team,
            kind=Kind.LISTING_CHANGED,
            params={"fields": ["title"]},
            scope="chosen",
            connection=connection,
            asins=["B0PAGES001"],
        )
        rule.subscriptions.create(channel=channel)
        initial = RuleForm.initial_for(rule)
        self.assertEqual(initial["watch"], ["title"])
        self.assertEqual(initial["place"], str(connection.code))
        self.assertEqual(initial["asin_list"], "B0PAGES001")
        self.assertEqual(initial["channels"], [channel])


class ChannelFormTests(BaseTestCase):
    def test_a_member_is_chosen_by_their_membership(self):
        form = ChannelForm(
            {"name": "Bob", "recipient": str(self.bob.membership.code)},
            team=self.team,
            kind="email",
        )
        self.assertTrue(form.is_valid(), form.errors)
        self.assertEqual((form.cleaned_data["member"], form.cleaned_data["target"]), (self.bob, ""))

    def test_an_outsider_is_not_a_choice(self):
        form = ChannelForm(
            {"name": "C", "recipient": str(self.charlie.membership.code)},
            team=self.team,
            kind="email",
        )
        self.assertFalse(form.is_valid())
        self.assertIn("recipient", form.errors)

    def test_another_address_is_validated(self):
        form = ChannelForm(
            {"name": "A", "recipient": "other", "email": "nope"}, team=self.team, kind="email"
        )
        self.assertFalse(form.is_valid())
        self.assertIn("email", form.errors)

    def test_a_webhook_needs_a_url(self):
        form = ChannelForm({"name": "H"}, team=self.team, kind="webhook")
        self.assertFalse(form.is_valid())
        self.assertIn("url", form.errors)
        form = ChannelForm(
            {"name": "H", "url": "https://example.com/x"}, team=self.team, kind="webhook"
        )
        self.assertTrue(form.is_valid(), form.errors)
        self.assertEqual(form.cleaned_data["target"], "https://example.com/x")
