from django.conf import settings
from django.urls import reverse

from cvrtracker.accounts.models import Membership, User
from cvrtracker.test import BaseTestCase

URL = reverse("accounts:signup")


def form(**overrides):
    data = {
        "name": "Dana Seller",
        "email": "Dana@Example.com",
        "password": "a long and unusual passphrase 7",
        "age_confirmed": "on",
        "privacy_accepted": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


class SignupTests(BaseTestCase):
    def test_it_creates_a_user_who_owns_a_new_team(self):
        response = self.client.post(URL, form())
        self.assertRedirects(response, reverse("accounts:signup_done"))
        user = User.objects.get(email="dana@example.com")
        self.assertEqual(user.name, "Dana Seller")
        self.assertEqual(user.membership.role, Membership.Role.OWNER)
        self.assertEqual(user.membership.team.memberships.count(), 1)
        self.assertFalse(user.email_verified)
        self.assertTrue(user.password.startswith("argon2"))

    def test_it_records_age_and_policy_acceptance(self):
        self.client.post(URL, form())
        user = User.objects.get(email="dana@example.com")
        self.assertIsNotNone(user.age_confirmed_at)
        self.assertEqual(user.privacy_policy_version, settings.PRIVACY_POLICY_VERSION)
        self.assertIsNotNone(user.privacy_policy_accepted_at)

    def test_it_sends_a_verification_link_over_smtp(self):
        self.client.post(URL, form())
        [message] = self.mailbox.to("dana@example.com")
        self.assertIn("Confirm your email", message["Subject"])
        self.assertIn("/accounts/verify/", self.link_in(message))

    def test_it_refuses_people_under_16(self):
        response = self.client.post(URL, form(age_confirmed=None))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "only for people aged 16 or older")
        self.assertFalse(User.objects.filter(email="dana@example.com").exists())
        self.assertEqual(self.mailbox.messages, [])

    def test_it_requires_accepting_the_privacy_policy(self):
        response = self.client.post(URL, form(privacy_accepted=None))
        self.assertContains(response, "accept the privacy policy")
        self.assertFalse(User.objects.filter(email="dana@example.com").exists())

    def test_it_refuses_short_passwords(self):
        response = self.client.post(URL, form(password="Short-pw-1!"))
        self.assertContains(response, "at least 12 characters")
        self.assertNotIn("Dana Seller", [user.name for user in User.objects.all()])

    def test_it_refuses_common_passwords(self):
        response = self.client.post(URL, form(password="qwerty123456"))
        self.assertContains(response, "too common")

    def test_it_refuses_passwords_like_the_email(self):
        response = self.client.post(
            URL, form(email="quartermaster@example.com", password="quartermaster1")
        )
        self.assertContains(response, "too similar")

    def test_it_answers_the_same_for_an_existing_email(self):
        response = self.client.post(URL, form(email="ALICE@example.org"))
        self.assertRedirects(response, reverse("accounts:signup_done"))
        self.assertEqual(User.objects.filter(email="alice@example.org").count(), 1)
        [message] = self.mailbox.to("alice@example.org")
        self.assertIn("already has an account", self.mailbox.body(message))
