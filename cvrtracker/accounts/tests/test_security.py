from django.contrib.sessions.models import Session
from django.urls import reverse

from cvrtracker.accounts.models import UserSession
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.test import PASSWORD, BaseTestCase

URL = reverse("accounts:security")


class SecurityTests(BaseTestCase):
    def login(self, client, email="alice@example.org", agent="Firefox on Linux"):
        client.post(
            reverse("accounts:login"),
            {"username": email, "password": PASSWORD},
            headers={"user-agent": agent},
        )
        return client.session.session_key

    def test_it_lists_my_sessions_and_not_others(self):
        self.login(self.client)
        self.login(self.client_class(), agent="Safari on iPhone")
        self.login(self.client_class(), email="bob@example.org", agent="Bob's Edge")
        response = self.client.get(URL)
        self.assertContains(response, "Firefox on Linux")
        self.assertContains(response, "Safari on iPhone")
        self.assertContains(response, "this session")
        self.assertNotContains(response, "Edge")

    def test_it_logs_out_every_other_session(self):
        mine = self.login(self.client)
        phone = self.client_class()
        other = self.login(phone, agent="Safari on iPhone")
        bobs = self.login(self.client_class(), email="bob@example.org")
        self.client.post(reverse("accounts:sessions_end_others"))
        self.assertTrue(Session.objects.filter(session_key=mine).exists())
        self.assertFalse(Session.objects.filter(session_key=other).exists())
        self.assertTrue(Session.objects.filter(session_key=bobs).exists())
        self.assertEqual(phone.get(reverse("dashboard:overview")).status_code, 302)

    def test_logout_forgets_the_session(self):
        key = self.login(self.client)
        self.assertTrue(UserSession.objects.filter(session_key=key).exists())
        self.client.post(reverse("accounts:logout"))
        self.assertFalse(UserSession.objects.filter(session_key=key).exists())

    def test_a_password_change_ends_other_sessions_but_keeps_mine(self):
        self.login(self.client)
        phone = self.client_class()
        self.login(phone)
        new = "another fine passphrase 31"
        response = self.client.post(
            reverse("accounts:password_change"),
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        )
        self.assertRedirects(response, URL)
        self.assertEqual(self.client.get(reverse("dashboard:overview")).status_code, 200)
        self.assertEqual(phone.get(reverse("dashboard:overview")).status_code, 302)

    def test_api_reads_do_not_crowd_out_security_events(self):
        audit_record(action=AuditEntry.Action.LOGIN_FAILED, actor=self.alice)
        audit_record(action=AuditEntry.Action.API_KEY_CREATED, actor=self.alice)
        for _ in range(25):
            audit_record(action=AuditEntry.Action.API_PRODUCTS_READ, actor=self.alice)
        self.client.force_login(self.alice)
        response = self.client.get(URL)
        self.assertContains(response, "Failed log-in")
        self.assertContains(response, "Created an API key")
        self.assertNotContains(response, "Read product metrics through the API")

    def test_change_history_page_views_do_not_crowd_out_security_events(self):
        audit_record(action=AuditEntry.Action.LOGIN_FAILED, actor=self.alice)
        for _ in range(25):
            audit_record(action=AuditEntry.Action.CHANGES_READ, actor=self.alice)
        self.client.force_login(self.alice)
        response = self.client.get(URL)
        self.assertContains(response, "Failed log-in")
        self.assertNotContains(response, "Read listing changes")
