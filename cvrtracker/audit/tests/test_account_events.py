"""Security events of the accounts app land in the audit trail."""

from django.urls import reverse

from cvrtracker.audit.models import AuditEntry
from cvrtracker.test import PASSWORD, BaseTestCase

Action = AuditEntry.Action


class AccountEventTests(BaseTestCase):
    def actions_of(self, user):
        return list(
            AuditEntry.objects.filter(actor=user).order_by("id").values_list("action", flat=True)
        )

    def test_login_failure_login_and_logout_are_recorded(self):
        login = reverse("accounts:login")
        self.client.post(login, {"username": "alice@example.org", "password": "wrong" * 4})
        self.client.post(login, {"username": "alice@example.org", "password": PASSWORD})
        self.client.post(reverse("accounts:logout"))
        self.assertEqual(
            self.actions_of(self.alice), [Action.LOGIN_FAILED, Action.LOGIN, Action.LOGOUT]
        )

    def test_a_failed_login_for_an_unknown_email_is_recorded_without_an_actor(self):
        self.client.post(
            reverse("accounts:login"), {"username": "who@example.org", "password": "x" * 12}
        )
        entry = AuditEntry.objects.get()
        self.assertEqual((entry.action, entry.actor), (Action.LOGIN_FAILED, None))
        self.assertEqual(entry.ip, "127.0.0.1")

    def test_team_changes_are_recorded_on_the_team(self):
        self.client.force_login(self.alice)
        self.client.post(reverse("accounts:team"), {"invite": "1", "email": "dora@example.org"})
        self.client.post(reverse("accounts:member_remove", args=[self.bob.membership.code]))
        entries = AuditEntry.objects.filter(team=self.team).order_by("id")
        self.assertEqual(
            [e.action for e in entries], [Action.MEMBER_INVITED, Action.MEMBER_REMOVED]
        )
        self.assertEqual(entries[1].target_code, str(self.bob.code))

    def test_the_security_page_shows_my_events_only(self):
        self.client.post(
            reverse("accounts:login"), {"username": "bob@example.org", "password": "wrong" * 4}
        )
        self.client.force_login(self.alice)
        self.client.post(reverse("accounts:sessions_end_others"))
        response = self.client.get(reverse("accounts:security"))
        self.assertContains(response, "Logged out other sessions")
        self.assertNotContains(response, "Failed log-in")
