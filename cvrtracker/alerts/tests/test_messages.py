"""What alerts say: every kind renders for email, webhook and Slack, digests included."""

import json

from cvrtracker.alerts import messages
from cvrtracker.alerts.models import AlertRule
from cvrtracker.alerts.tests.helpers import make_alert, make_connection, make_rule
from cvrtracker.test import BaseTestCase

DIGEST = {
    "title": "",
    "summary": "Your Nov 20 digest: 1 products converting less, 1 more, 1 recent listing changes",
    "movers": {
        "down": [
            {
                "asin": "B0DOWN0001",
                "title": "Garlic press",
                "sessions": 400,
                "previous_sessions": 380,
                "conversion": 8.5,
                "previous_conversion": 11.25,
            }
        ],
        "up": [{"asin": "B0UP000001", "title": "", "conversion": 12.0}],
    },
    "changes": [
        {
            "asin": "B0DOWN0001",
            "title": "Garlic press",
            "field": "title",
            "field_label": "Title",
            "day": "2026-11-10",
            "verdict_label": "Better",
            "lift": 0.124,
            "lift_low": 0.02,
            "lift_high": 0.25,
            "final": False,
        }
    ],
}


class MessageTests(BaseTestCase):
    def setUp(self):
        self.connection = make_connection(self.team)

    def test_every_kind_renders_on_every_channel_kind(self):
        payloads = {
            "low_stock": {"title": "Press", "figures": {"days_of_cover": 3.5, "quantity": 12}},
            "out_of_stock": {"title": "Press", "back_in_stock": True},
            "listing_issue": {"title": "Press", "after": [{"message": "Missing image"}]},
            "digest": DIGEST,
        }
        for n, kind in enumerate(AlertRule.Kind.values):
            with self.subTest(kind=kind):
                rule = make_rule(self.team, kind=kind)
                payload = payloads.get(kind, {"title": "Press", "summary": f"{kind} happened"})
                alert = make_alert(rule, self.connection, key=f"k{n}", payload=payload)
                message = messages.alert_message(alert)
                subject, text, html = messages.email_parts(message, unsubscribe="https://u/x/")
                self.assertTrue(subject and "\n" not in subject)
                self.assertIn("https://u/x/", text)
                self.assertIn("https://u/x/", html)
                body = json.loads(messages.webhook_body(message))
                self.assertEqual(body["kind"], kind)
                slack = json.loads(messages.slack_body(message))
                self.assertEqual(slack["text"], message.summary)

    def test_figures_are_labelled_for_people_and_kept_raw_for_machines(self):
        rule = make_rule(self.team, kind="low_stock")
        payload = {"title": "Press", "figures": {"days_of_cover": 3.5}}
        message = messages.alert_message(make_alert(rule, self.connection, payload=payload))
        self.assertIn(("Days of cover", "3.5"), message.lines)
        details = json.loads(messages.webhook_body(message))["details"]
        self.assertEqual(details["days_of_cover"], 3.5)
        self.assertEqual(message.summary, "Press is running low on stock")

    def test_a_digest_lists_movers_and_changes_with_their_impact_so_far(self):
        rule = make_rule(self.team, kind="digest")
        message = messages.alert_message(make_alert(rule, self.connection, payload=DIGEST))
        _, text, html = messages.email_parts(message)
        self.assertIn("Garlic press (B0DOWN0001): conversion down from 11.25% to 8.5%", text)
        self.assertIn("Title changed on 2026-11-10: so far Better, conversion +12.4%", text)
        self.assertIn("Biggest conversion movers", html)

    def test_html_escapes_amazon_content(self):
        rule = make_rule(self.team)
        payload = {"title": "<script>x</script>", "before": "<b>", "after": "a&b"}
        message = messages.alert_message(make_alert(rule, self.connection, payload=payload))
        _, _, html = messages.email_parts(message)
        self.assertNotIn("<script>", html)
        self.assertIn("&lt;script&gt;", html)
        slack = json.loads(messages.slack_body(message))
        self.assertNotIn("<script>", slack["blocks"][0]["text"]["text"])
