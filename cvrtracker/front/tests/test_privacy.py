from django.conf import settings
from django.test import TestCase
from django.urls import reverse

SECTIONS = [
    "Information we collect",
    "How we use it",
    "Amazon Selling Partner API data",
    "Sharing",
    "Security",
    "Retention",
    "Your rights",
    "Cookies",
    "Children",
    "California residents",
    "Amazon policies",
    "Changes to this policy",
    "Contact",
]


class PrivacyTests(TestCase):
    def test_it_has_every_section_and_a_last_updated_date(self):
        response = self.client.get(reverse("front:privacy"))
        for title in SECTIONS:
            self.assertContains(response, title)
        self.assertContains(response, "Last updated")
        self.assertContains(response, settings.PRIVACY_POLICY_VERSION)

    def test_it_states_the_promises_the_code_keeps(self):
        response = self.client.get(reverse("front:privacy"))
        for promise in ("TLS 1.2", "AES-256", "within 30 days", "12 months", "16 or older"):
            self.assertContains(response, promise)


class PolicyFollowsTheSettingsTests(TestCase):
    """The periods the page states are the ones the retention rules enforce: change a
    setting and the page changes with it (issue 12, point 11)."""

    def text(self) -> str:
        return self.client.get(reverse("front:privacy")).content.decode()

    def test_the_default_periods(self):
        text = self.text()
        for sentence in (
            "in any case within 30 days",
            "30 days later at most we delete every record about you",
            "kept for at most 12 months",
            "is kept for 365 days",
            "downloaded for 7 days",
            "answered within 45 days",
            "not for anyone under 16",
        ):
            self.assertIn(sentence, text)

    def test_each_period_is_read_from_its_setting(self):
        with self.settings(
            AMAZON_DATA_PURGE_DAYS=11,
            ACCOUNT_DELETION_GRACE_DAYS=3,
            USAGE_RETENTION_DAYS=183,
            AUDIT_RETENTION_DAYS=120,
            EXPORT_LINK_DAYS=2,
            RIGHTS_REQUEST_DUE_DAYS=21,
            MINIMUM_AGE=18,
        ):
            text = self.text()
        for sentence in (
            "in any case within 11 days",
            "3 days later at most we delete every record about you",
            "kept for at most 6 months",
            "is kept for 120 days",
            "downloaded for 2 days",
            "answered within 21 days",
            "not for anyone under 18",
        ):
            self.assertIn(sentence, text)
        self.assertNotIn("within 30 days", text)
        self.assertNotIn("12 months", text.split('id="retention"')[1].split('id="rights"')[0])

    def test_the_cookie_section_follows_the_analytics_setting(self):
        with self.settings(ANALYTICS_SCRIPT_URL=""):
            text = self.text()
        self.assertIn("We use no analytics script", text)
        self.assertNotIn("cvr_consent", text)
        with self.settings(ANALYTICS_SCRIPT_URL="https://stats.example/a.js"):
            text = self.text()
        self.assertIn("It is never loaded before you accept", text)
        self.assertIn("cvr_consent", text)
        self.assertNotIn("We use no analytics script", text)

    def test_the_rights_and_california_sections_link_the_request_form(self):
        text = self.text()
        self.assertIn(reverse("privacy:rights"), text)
        self.assertIn("We do not sell or share your personal information", text)
        self.assertIn("keep a record of each request for 24 months", text)
