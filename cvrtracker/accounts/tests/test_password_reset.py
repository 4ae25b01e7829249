from django.urls import reverse

from cvrtracker.test import PASSWORD, BaseTestCase

URL = reverse("accounts:password_reset")
NEW_PASSWORD = "a brand new passphrase 2026"


class PasswordResetTests(BaseTestCase):
    def test_the_emailed_link_sets_a_new_password(self):
        response = self.client.post(URL, {"email": "alice@example.org"})
        self.assertRedirects(response, reverse("accounts:password_reset_done"))
        path = self.path_in(self.mailbox.to("alice@example.org")[0])
        response = self.client.get(path, follow=True)  # Django swaps the token for a session marker
        form_url = response.redirect_chain[-1][0]
        response = self.client.post(
            form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )
        self.assertRedirects(response, reverse("accounts:login"))
        self.alice.refresh_from_db()
        self.assertTrue(self.alice.check_password(NEW_PASSWORD))

    def test_unknown_emails_get_the_same_answer_and_no_email(self):
        known = self.client.post(URL, {"email": "alice@example.org"})
        unknown = self.client.post(URL, {"email": "nobody@example.org"})
        self.assertEqual(
            (known.status_code, known["Location"]), (unknown.status_code, unknown["Location"])
        )
        self.assertEqual(self.mailbox.to("nobody@example.org"), [])

    def test_a_reset_ends_other_sessions(self):
        self.client.post(
            reverse("accounts:login"), {"username": "alice@example.org", "password": PASSWORD}
        )
        self.assertEqual(self.client.get(reverse("dashboard:overview")).status_code, 200)
        other = self.client_class()
        other.post(URL, {"email": "alice@example.org"})
        path = self.path_in(self.mailbox.to("alice@example.org")[0])
        form_url = other.get(path, follow=True).redirect_chain[-1][0]
        other.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
        # Django ties a session to the password hash: the old one no longer authenticates.
        response = self.client.get(reverse("dashboard:overview"))
        self.assertRedirects(response, f"{reverse('accounts:login')}?next=/dashboard/")
