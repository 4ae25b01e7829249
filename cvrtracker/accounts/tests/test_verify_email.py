from django.core import signing
from django.urls import reverse

from cvrtracker.accounts import services
from cvrtracker.accounts.models import User
from cvrtracker.test import BaseTestCase


class VerifyEmailTests(BaseTestCase):
    def setUp(self):
        self.dana = services.user_signup(
            name="Dana", email="dana@example.com", password="a long and unusual passphrase 7"
        )

    def test_the_emailed_link_confirms_the_address(self):
        path = self.path_in(self.mailbox.to("dana@example.com")[0])
        response = self.client.get(path)
        self.assertRedirects(response, reverse("accounts:login"))
        self.dana.refresh_from_db()
        self.assertTrue(self.dana.email_verified)

    def test_it_rejects_a_forged_token(self):
        response = self.client.get(reverse("accounts:verify_email", args=["forged:token"]))
        self.assertEqual(response.status_code, 400)
        self.dana.refresh_from_db()
        self.assertFalse(self.dana.email_verified)

    def test_it_rejects_a_token_for_another_address(self):
        token = signing.dumps(
            {"u": str(self.dana.code), "e": "mallory@example.com"}, salt=services.VERIFY_SALT
        )
        response = self.client.get(reverse("accounts:verify_email", args=[token]))
        self.assertEqual(response.status_code, 400)
        self.dana.refresh_from_db()
        self.assertEqual(self.dana.email, "dana@example.com")

    def test_a_new_email_takes_effect_only_after_verification(self):
        services.user_update_profile(user=self.alice, name="Alice", email="alice@new.example")
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.email, "alice@example.org")
        self.assertEqual(self.alice.pending_email, "alice@new.example")
        path = self.path_in(self.mailbox.to("alice@new.example")[0])
        self.client.get(path)
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.email, "alice@new.example")
        self.assertEqual(self.alice.pending_email, "")

    def test_it_refuses_an_address_taken_meanwhile(self):
        services.user_update_profile(user=self.alice, name="Alice", email="taken@example.com")
        path = self.path_in(self.mailbox.to("taken@example.com")[0])
        User.objects.create_user("taken@example.com", "x" * 20, name="Other")
        response = self.client.get(path)
        self.assertEqual(response.status_code, 400)
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.email, "alice@example.org")
