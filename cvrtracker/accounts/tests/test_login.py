from django.contrib.sessions.models import Session
from django.test import override_settings
from django.urls import reverse

from cvrtracker.test import PASSWORD, BaseTestCase

URL = reverse("accounts:login")


class LoginTests(BaseTestCase):
    def test_it_logs_in_with_email_and_password(self):
        response = self.client.post(URL, {"username": "Alice@Example.org", "password": PASSWORD})
        self.assertRedirects(response, reverse("dashboard:overview"))
        self.assertEqual(int(self.client.session["_auth_user_id"]), self.alice.pk)

    def test_it_gives_a_new_session_key_at_login(self):
        self.client.get(URL)
        self.client.session.save()
        before = self.client.session.session_key
        self.client.post(URL, {"username": "alice@example.org", "password": PASSWORD})
        self.assertNotEqual(self.client.session.session_key, before)

    def test_wrong_password_and_unknown_email_read_the_same(self):
        known = self.client.post(URL, {"username": "alice@example.org", "password": "wrong" * 4})
        unknown = self.client.post(URL, {"username": "nobody@example.org", "password": "wrong" * 4})
        self.assertEqual(known.status_code, unknown.status_code)
        self.assertEqual(known.context["form"].errors, unknown.context["form"].errors)
        self.assertContains(known, "do not match an account")

    @override_settings(AXES_FAILURE_LIMIT=3)
    def test_it_locks_out_after_repeated_failures_for_known_and_unknown_emails(self):
        for email in ("alice@example.org", "nobody@example.org"):
            statuses = [
                self.client.post(URL, {"username": email, "password": "wrong" * 4}).status_code
                for _ in range(4)
            ]
            self.assertEqual(statuses, [200, 200, 429, 429], email)
        # Even the right password is refused while locked out.
        response = self.client.post(URL, {"username": "alice@example.org", "password": PASSWORD})
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Too many failed attempts", status_code=429)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_logout_deletes_the_session_on_the_server(self):
        self.client.post(URL, {"username": "alice@example.org", "password": PASSWORD})
        key = self.client.session.session_key
        self.assertTrue(Session.objects.filter(session_key=key).exists())
        response = self.client.post(reverse("accounts:logout"))
        self.assertRedirects(response, reverse("front:index"))
        self.assertFalse(Session.objects.filter(session_key=key).exists())

    def test_an_old_session_cookie_is_dead_after_logout(self):
        self.client.post(URL, {"username": "alice@example.org", "password": PASSWORD})
        cookie = self.client.cookies["sessionid"].value
        self.client.post(reverse("accounts:logout"))
        self.client.cookies["sessionid"] = cookie
        response = self.client.get(reverse("dashboard:overview"))
        self.assertEqual(response.status_code, 302)
        self.assertIn(URL, response["Location"])

    def test_logout_refuses_get(self):
        self.client.force_login(self.alice)
        response = self.client.get(reverse("accounts:logout"))
        self.assertEqual(response.status_code, 405)
