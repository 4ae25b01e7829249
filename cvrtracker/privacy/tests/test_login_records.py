"""django-axes' tables hold no email address, IP address or browser in plaintext
(privacy/login_records.py), and lock-out still counts per email and IP pair."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from cvrtracker.privacy.deletion import user_purge
from cvrtracker.privacy.login_records import axes_usernames, pseudonymous_ip
from cvrtracker.test import PASSWORD, BaseTestCase

URL = reverse("accounts:login")
IP, OTHER_IP = "203.0.113.58", "198.51.100.9"
AGENT = "CanaryAgent/9.9"


def dump(model) -> str:
    """Every column of every row, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {model._meta.db_table}")  # noqa: S608
        return repr(cursor.fetchall()).lower()


class LoginRecordTests(BaseTestCase):
    def post(self, email, typed="wrong" * 4, ip=IP):
        return self.client.post(
            URL,
            {"username": email, "password": typed},
            REMOTE_ADDR=ip,
            HTTP_USER_AGENT=AGENT,
        )

    def test_axes_tables_hold_no_email_ip_or_browser(self):
        for email in ("alice@example.org", "Nobody.Canary@example.org"):
            self.post(email)
        self.post("bob@example.org", typed=PASSWORD)  # a successful log-in
        self.assertEqual(AccessAttempt.objects.count(), 2)
        self.assertEqual(AccessFailureLog.objects.count(), 2)
        self.assertEqual(AccessLog.objects.count(), 0)
        for model in (AccessAttempt, AccessFailureLog, AccessLog):
            rows = dump(model)
            for plain in ("alice", "nobody.canary", "example.org", "bob", IP, "canaryagent"):
                self.assertNotIn(plain.lower(), rows, model.__name__)
            self.assertNotIn(PASSWORD.lower(), rows)
        attempt = AccessAttempt.objects.get(username=axes_usernames("alice@example.org")[0])
        self.assertEqual(attempt.ip_address, pseudonymous_ip(IP))
        self.assertEqual(attempt.user_agent, "")

    @override_settings(AXES_FAILURE_LIMIT=2)
    def test_the_lock_out_is_still_per_email_and_ip(self):
        statuses = [self.post("alice@example.org").status_code for _ in range(3)]
        self.assertEqual(statuses, [200, 429, 429])
        # The same address in other letters is the same address.
        self.assertEqual(self.post("ALICE@example.org").status_code, 429)
        # Another IP, or another email, is not locked out.
        other = self.post("alice@example.org", typed=PASSWORD, ip=OTHER_IP)
        self.assertEqual(other.status_code, 302)
        self.assertEqual(self.post("bob@example.org", typed=PASSWORD).status_code, 302)

    def test_the_purge_of_an_account_finds_its_attempts(self):
        self.post("alice@example.org")
        self.post("nobody@example.org")
        user_purge(user=self.alice)
        self.assertEqual(
            list(AccessAttempt.objects.values_list("username", flat=True)),
            [axes_usernames("nobody@example.org")[0]],
        )
