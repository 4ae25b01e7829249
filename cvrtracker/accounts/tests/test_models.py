"""The accounts app's personal data is encrypted in the database (issue 15) and still
found by its address: log-in, password reset, invitations, duplicate sign-ups,
master-key rotation."""

import base64
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory, override_settings
from django.urls import reverse

from cvrtracker.accounts.mfa import mfa_enrolment_device
from cvrtracker.accounts.models import (
    AuthenticatorDevice,
    Invitation,
    Team,
    User,
    UserSession,
)
from cvrtracker.accounts.services import team_invite, user_session_start, user_signup
from cvrtracker.front.rotation import RotationReport, encrypted_rows_rotate
from cvrtracker.lib.crypto import key_provider, load_or_create_key_file
from cvrtracker.lib.fields import ip_normalise
from cvrtracker.test import PASSWORD, BaseTestCase


def column(table: str, name: str, pk: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {name} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        value = cursor.fetchone()[0]
    if value is None:
        return b""
    return value.encode() if isinstance(value, str) else bytes(value)


def log_in(email: str) -> User | None:
    """Django's authentication backends' answer (axes wants a request)."""
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.1")
    return authenticate(request, username=email, password=PASSWORD)


class AtRestTests(BaseTestCase):
    def test_the_columns_hold_no_plaintext(self):
        self.alice.pending_email = "alice.new@example.org"
        self.alice.save()
        invitation = Invitation.objects.create(team=self.team, email="dora@example.org")
        user_session_start(
            user=self.alice, session_key="s" * 32, ip="198.51.100.23", user_agent="QuillBrowser/9"
        )
        session = UserSession.objects.get(session_key="s" * 32)
        stored = {
            "email": column("accounts_user", "email", self.alice.pk),
            "name": column("accounts_user", "name", self.alice.pk),
            "pending": column("accounts_user", "pending_email", self.alice.pk),
            "index": column("accounts_user", "email_index", self.alice.pk),
            "team": column("accounts_team", "name", self.team.pk),
            "invitation": column("accounts_invitation", "email", invitation.pk),
            "ip": column("accounts_usersession", "ip", session.pk),
            "agent": column("accounts_usersession", "user_agent", session.pk),
        }
        everything = b"|".join(stored.values()).lower()
        for plain in (b"alice", b"example", b"dora", b"team", b"198.51", b"quill"):
            assert plain not in everything, plain
        assert all(stored.values())
        # ...and the instances read the plaintext.
        alice = User.objects.get(pk=self.alice.pk)
        assert (alice.email, alice.name, alice.pending_email) == (
            "alice@example.org",
            "Alice",
            "alice.new@example.org",
        )
        assert Team.objects.get(pk=self.team.pk).name == "Team Alice"
        assert (session.ip, session.user_agent) == ("198.51.100.23", "QuillBrowser/9")

    def test_the_authenticator_seed_and_name_are_encrypted(self):
        device = mfa_enrolment_device(user=self.alice)
        stored = column("accounts_authenticatordevice", "key", device.pk)
        seed = AuthenticatorDevice.objects.get(pk=device.pk).key
        assert len(seed) == 40 and seed.encode() not in stored
        assert bytes.fromhex(seed) not in stored
        assert b"Authenticator" not in column("accounts_authenticatordevice", "name", device.pk)

    def test_saving_only_the_address_rewrites_its_index(self):
        self.alice.email = "alice@elsewhere.example"
        self.alice.save(update_fields=["email"])
        assert User.objects.get(email="alice@elsewhere.example") == self.alice
        assert not User.objects.filter(email="alice@example.org").exists()


class FoundByAddressTests(BaseTestCase):
    def test_log_in_by_email_in_any_case(self):
        for typed in ("alice@example.org", "ALICE@Example.ORG", " Alice@example.org "):
            assert log_in(typed) == self.alice, typed
        response = self.client.post(
            reverse("accounts:login"), {"username": "ALICE@EXAMPLE.ORG", "password": PASSWORD}
        )
        self.assertRedirects(response, reverse("dashboard:overview"))

    def test_password_reset_finds_the_user_by_address(self):
        self.client.post(reverse("accounts:password_reset"), {"email": "Alice@Example.org"})
        assert len(self.mailbox.to("alice@example.org")) == 1

    def test_a_second_account_with_the_same_address_in_another_case_is_refused(self):
        assert user_signup(name="Eve", email="ALICE@example.ORG", password=PASSWORD) is None
        assert User.objects.filter(email="alice@example.org").count() == 1
        with transaction.atomic(), self.assertRaises(IntegrityError):
            User(email="Alice@Example.org", name="Eve").save()

    def test_an_invitation_is_found_and_accepted_by_its_address(self):
        invitation = team_invite(team=self.team, email="Dora@Example.org", actor=self.alice)
        # Re-inviting the address in another case re-sends the same open invitation.
        again = team_invite(team=self.team, email="DORA@example.org", actor=self.alice)
        assert again == invitation
        assert Invitation.objects.get(email__iexact="dora@EXAMPLE.org") == invitation
        dora = user_signup(
            name="Dora", email=invitation.email, password=PASSWORD, invitation=invitation
        )
        assert dora.membership.team == self.team
        # The same purpose: an account's index matches the invitations sent to it.
        assert dora.email_index == Invitation.objects.get(pk=invitation.pk).email_index

    def test_the_team_page_lists_invitations_by_address(self):
        for email in ("zed@example.org", "amy@example.org"):
            Invitation.objects.create(team=self.team, email=email)
        self.client.force_login(self.alice)
        response = self.client.get(reverse("accounts:team"))
        assert [i.email for i in response.context["invitations"]] == [
            "amy@example.org",
            "zed@example.org",
        ]
        self.assertContains(response, "zed@example.org")


class RotationTests(BaseTestCase):
    def test_rotation_re_encrypts_users_and_their_index_still_finds_them(self):
        old = base64.b64encode(load_or_create_key_file(Path(settings.MASTER_KEY_PATH))).decode()
        new = base64.b64encode(secrets.token_bytes(32)).decode()
        self.addCleanup(key_provider.cache_clear)
        before = column("accounts_user", "email", self.alice.pk)
        key_provider.cache_clear()
        with override_settings(MASTER_KEY=new, MASTER_KEY_PREVIOUS=old):
            report = RotationReport()
            encrypted_rows_rotate(report, models=[User, Team, Invitation, UserSession])
        assert report.ok and report.rewrapped["accounts.User"] == 3
        assert report.rewrapped["accounts.Team"] == 2
        key_provider.cache_clear()
        with override_settings(MASTER_KEY=new):  # the old key is gone
            alice = User.objects.get(email="Alice@example.org")
            assert (alice.pk, alice.name) == (self.alice.pk, "Alice")
            assert Team.objects.get(pk=self.team.pk).name == "Team Alice"
            assert log_in("bob@example.org") == self.bob
        assert column("accounts_user", "email", self.alice.pk) != before


def test_ip_addresses_are_kept_as_the_ip_field_kept_them():
    assert ip_normalise("2001:DB8:0:0::1") == "2001:db8::1"
    assert ip_normalise("::ffff:192.0.2.7") == "::ffff:192.0.2.7"  # as the old column kept it
    assert ip_normalise(" 192.0.2.7 ") == "192.0.2.7"
    assert ip_normalise("not an address") is None
    assert ip_normalise("") is None and ip_normalise(None) is None
