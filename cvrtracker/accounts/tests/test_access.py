from django.http import Http404

from cvrtracker.accounts import access
from cvrtracker.accounts.models import Invitation, User
from cvrtracker.test import BaseTestCase


class AccessTests(BaseTestCase):
    def test_teammates_share_a_team_and_the_outsider_does_not(self):
        self.assertEqual(access.get_team_for_user(self.alice), self.team)
        self.assertEqual(access.get_team_for_user(self.bob), self.team)
        self.assertEqual(access.get_team_for_user(self.charlie), self.charlies_team)

    def test_a_user_without_a_team_gets_404(self):
        loner = User.objects.create_user("loner@example.org", "x" * 20, name="Loner")
        with self.assertRaises(Http404):
            access.get_team_for_user(loner)

    def test_only_the_owner_administers(self):
        self.assertEqual(access.get_owned_team_for_user(self.alice), self.team)
        with self.assertRaises(Http404):
            access.get_owned_team_for_user(self.bob)

    def test_members_and_invitations_of_another_team_are_404(self):
        invitation = Invitation.objects.create(team=self.team, email="dora@example.org")
        with self.assertRaises(Http404):
            access.get_member_for_owner(self.charlie, self.bob.membership.code)
        with self.assertRaises(Http404):
            access.get_invitation_for_owner(self.charlie, invitation.code)
        self.assertEqual(access.get_invitation_for_owner(self.alice, invitation.code), invitation)
