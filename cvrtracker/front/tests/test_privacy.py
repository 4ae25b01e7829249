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
