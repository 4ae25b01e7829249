"""The shared test base: three people, two teams."""

import pytest
from django.test import TestCase
from django.utils import timezone

from cvrtracker.accounts.models import Membership, Team, User

PASSWORD = "correct horse battery staple 42"


def make_user(email: str, *, team: Team | None = None, role=Membership.Role.OWNER) -> User:
    now = timezone.now()
    user = User.objects.create_user(
        email,
        PASSWORD,
        name=email.split("@")[0].title(),
        email_verified_at=now,
        age_confirmed_at=now,
        privacy_policy_version="test",
        privacy_policy_accepted_at=now,
    )
    team = team or Team.objects.create(name=f"Team {user.name}")
    Membership.objects.create(user=user, team=team, role=role)
    return user


class BaseTestCase(TestCase):
    """alice owns a team, bob is her teammate, charlie is an outsider on his own team."""

    @classmethod
    def setUpTestData(cls):
        cls.alice = make_user("alice@example.org")
        cls.team = cls.alice.membership.team
        cls.bob = make_user("bob@example.org", team=cls.team, role=Membership.Role.MEMBER)
        cls.charlie = make_user("charlie@example.org")
        cls.charlies_team = cls.charlie.membership.team

    @pytest.fixture(autouse=True)
    def _mailbox(self, mailbox):
        # The loopback SMTP server's inbox, for unittest-style tests.
        self.mailbox = mailbox

    def link_in(self, message) -> str:
        """The first URL in an email's plain-text body."""
        import re

        body = self.mailbox.body(message)
        match = re.search(r"https?://\S+", body)
        assert match, body
        return match.group(0)

    def path_in(self, message) -> str:
        """The path of the first URL in an email, to follow it with the test client."""
        from urllib.parse import urlsplit

        return urlsplit(self.link_in(message)).path
