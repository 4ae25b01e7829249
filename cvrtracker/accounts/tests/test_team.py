from django.contrib.sessions.models import Session
from django.urls import reverse

from cvrtracker.accounts.models import Invitation, Membership
from cvrtracker.audit.models import AuditEntry
from cvrtracker.test import PASSWORD, BaseTestCase

URL = reverse("accounts:team")


class TeamPageTests(BaseTestCase):
    def test_it_lists_only_my_teams_members(self):
        self.client.force_login(self.bob)
        response = self.client.get(URL)
        self.assertContains(response, "alice@example.org")
        self.assertContains(response, "bob@example.org")
        self.assertNotContains(response, "charlie@example.org")

    def test_the_owner_invites_by_email(self):
        self.client.force_login(self.alice)
        response = self.client.post(URL, {"invite": "1", "email": "Dora@Example.org"})
        self.assertRedirects(response, URL)
        invitation = Invitation.objects.get(team=self.team)
        self.assertEqual(invitation.email, "dora@example.org")
        [message] = self.mailbox.to("dora@example.org")
        self.assertIn("/accounts/invitation/", self.link_in(message))

    def test_a_member_cannot_invite(self):
        self.client.force_login(self.bob)
        response = self.client.post(URL, {"invite": "1", "email": "dora@example.org"})
        self.assertEqual(response.status_code, 404)
        self.assertFalse(Invitation.objects.exists())

    def test_the_owner_renames_the_team(self):
        self.client.force_login(self.alice)
        self.client.post(URL, {"rename": "1", "name": "Acme Goods"})
        self.team.refresh_from_db()
        self.assertEqual(self.team.name, "Acme Goods")
        entry = AuditEntry.objects.get(action=AuditEntry.Action.TEAM_RENAMED)
        self.assertEqual((entry.actor, entry.team), (self.alice, self.team))
        self.assertEqual(entry.detail, "Team Alice → Acme Goods")

    def test_a_member_cannot_rename_the_team(self):
        self.client.force_login(self.bob)
        response = self.client.post(URL, {"rename": "1", "name": "Bob's Shop"})
        self.assertEqual(response.status_code, 404)
        self.team.refresh_from_db()
        self.assertEqual(self.team.name, "Team Alice")
        self.assertFalse(AuditEntry.objects.filter(action=AuditEntry.Action.TEAM_RENAMED))

    def test_an_invitee_signs_up_into_the_team(self):
        self.client.force_login(self.alice)
        self.client.post(URL, {"invite": "1", "email": "dora@example.org"})
        self.client.logout()
        path = self.path_in(self.mailbox.to("dora@example.org")[0])
        response = self.client.post(
            path,
            {
                "name": "Dora",
                "email": "mallory@example.org",  # disabled field: the invitation's email wins
                "password": "another long passphrase 99",
                "age_confirmed": "on",
                "privacy_accepted": "on",
            },
        )
        self.assertRedirects(response, reverse("accounts:login"))
        membership = Membership.objects.get(user__email="dora@example.org")
        self.assertEqual(membership.team, self.team)
        self.assertEqual(membership.role, Membership.Role.MEMBER)
        self.assertTrue(membership.user.email_verified)
        # Used once: the same link no longer works.
        self.assertEqual(self.client.get(path).status_code, 400)

    def test_a_forged_invitation_link_is_refused(self):
        response = self.client.get(reverse("accounts:invitation", args=["not-a-token"]))
        self.assertEqual(response.status_code, 400)


class MemberRemoveTests(BaseTestCase):
    def url(self, membership):
        return reverse("accounts:member_remove", args=[membership.code])

    def test_the_owner_removes_a_member_and_their_sessions(self):
        self.client.post(
            reverse("accounts:login"), {"username": "bob@example.org", "password": PASSWORD}
        )
        bob_session = self.client.session.session_key
        self.client.force_login(self.alice)
        response = self.client.post(self.url(self.bob.membership))
        self.assertRedirects(response, URL)
        self.bob.refresh_from_db()
        self.assertNotEqual(self.bob.membership.team, self.team)
        self.assertFalse(Session.objects.filter(session_key=bob_session).exists())

    def test_a_member_cannot_remove_anyone(self):
        self.client.force_login(self.bob)
        response = self.client.post(self.url(self.alice.membership))
        self.assertEqual(response.status_code, 404)

    def test_it_rejects_other_team(self):
        self.client.force_login(self.charlie)
        response = self.client.post(self.url(self.bob.membership))
        self.assertEqual(response.status_code, 404)
        self.bob.refresh_from_db()
        self.assertEqual(self.bob.membership.team, self.team)

    def test_the_owner_cannot_be_removed(self):
        self.client.force_login(self.alice)
        self.client.post(self.url(self.alice.membership))
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.membership.team, self.team)


class InvitationCancelTests(BaseTestCase):
    def setUp(self):
        self.invitation = Invitation.objects.create(team=self.team, email="dora@example.org")
        self.url = reverse("accounts:invitation_cancel", args=[self.invitation.code])

    def test_the_owner_cancels_an_invitation(self):
        self.client.force_login(self.alice)
        self.client.post(self.url)
        self.assertFalse(Invitation.objects.exists())

    def test_it_rejects_other_team(self):
        self.client.force_login(self.charlie)
        self.assertEqual(self.client.post(self.url).status_code, 404)
        self.assertTrue(Invitation.objects.exists())
