import re
import time

import time_machine
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import totp

from cvrtracker.accounts import mfa
from cvrtracker.accounts.models import AuthenticatorDevice, RecoveryCode, User
from cvrtracker.audit.models import AuditEntry
from cvrtracker.test import PASSWORD, BaseTestCase, make_user

LOGIN = reverse("accounts:login")
CODE_STEP = reverse("accounts:login_mfa")
SETUP = reverse("accounts:mfa_setup")
OVERVIEW = reverse("dashboard:overview")
Action = AuditEntry.Action


def code_for(device: AuthenticatorDevice) -> str:
    """The code an authenticator app shows now (RFC 6238, as django-otp computes it)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


class MFATestCase(BaseTestCase):
    def setUp(self):
        # Each code is good once (django-otp keeps the last time step used), and a
        # wrong code makes the device wait a second: tests step the clock instead.
        self.clock = time_machine.travel(time.time(), tick=False)
        self.traveller = self.clock.start()
        self.addCleanup(self.clock.stop)

    def later(self, seconds: float = 31) -> None:
        self.traveller.shift(seconds)

    def enrol(self, user: User) -> tuple[AuthenticatorDevice, list[str]]:
        device = mfa.mfa_enrolment_device(user=user)
        codes = mfa.mfa_confirm(user=user, device=device, code=code_for(device))
        self.later()
        device.refresh_from_db()
        return device, codes

    def password_step(self, email: str = "alice@example.org", password: str = PASSWORD):
        return self.client.post(LOGIN, {"username": email, "password": password})

    def actions(self, user: User) -> list[str]:
        return list(AuditEntry.objects.filter(actor=user).values_list("action", flat=True))


class SetupTests(MFATestCase):
    def test_it_shows_a_qr_code_as_inline_svg_and_the_key_and_is_not_cached(self):
        self.client.force_login(self.alice)
        response = self.client.get(SETUP)
        html = response.content.decode()
        self.assertIn("<svg", html)
        self.assertNotIn("<script>", html.split("<svg", 1)[1].split("</svg>", 1)[0])
        device = AuthenticatorDevice.objects.get(user=self.alice, confirmed=False)
        self.assertIn(mfa.mfa_secret_text(device=device), html)
        self.assertIn("no-store", response["Cache-Control"])
        # The same QR code on reload, until it is confirmed.
        self.client.get(SETUP)
        self.assertEqual(AuthenticatorDevice.objects.filter(user=self.alice).count(), 1)

    def test_a_right_code_turns_it_on_and_shows_recovery_codes_once(self):
        self.client.force_login(self.alice)
        self.client.get(SETUP)
        device = AuthenticatorDevice.objects.get(user=self.alice)
        response = self.client.post(SETUP, {"code": code_for(device)})
        self.assertTrue(mfa.mfa_enabled(user=self.alice))
        codes = re.findall(r"<code>([a-z0-9-]{19})</code>", response.content.decode())
        self.assertEqual(len(codes), mfa.RECOVERY_CODE_COUNT)
        self.assertIn("no-store", response["Cache-Control"])
        self.assertIn(Action.MFA_ENABLED, self.actions(self.alice))
        # Stored as digests only: no code appears in the table.
        stored = " ".join(RecoveryCode.objects.values_list("digest", flat=True))
        for code in codes:
            self.assertNotIn(code.replace("-", ""), stored)
        # Shown once: the security page has the count, not the codes.
        page = self.client.get(reverse("accounts:security")).content.decode()
        self.assertIn("10 recovery codes left", page)
        self.assertNotIn(codes[0], page)

    def test_a_wrong_code_leaves_it_off(self):
        self.client.force_login(self.alice)
        self.client.get(SETUP)
        response = self.client.post(SETUP, {"code": "000000"})
        self.assertContains(response, "That code is not right")
        self.assertFalse(mfa.mfa_enabled(user=self.alice))
        self.assertFalse(RecoveryCode.objects.filter(user=self.alice).exists())

    def test_turning_it_on_logs_out_the_other_sessions(self):
        other = self.client_class()
        other.post(LOGIN, {"username": "alice@example.org", "password": PASSWORD})
        other_key = other.session.session_key
        self.password_step()
        self.client.get(SETUP)
        device = AuthenticatorDevice.objects.get(user=self.alice)
        self.client.post(SETUP, {"code": code_for(device)})
        self.assertFalse(Session.objects.filter(session_key=other_key).exists())
        self.assertEqual(self.client.get(OVERVIEW).status_code, 200)


class LoginTests(MFATestCase):
    def test_the_password_alone_does_not_log_in(self):
        device, _ = self.enrol(self.alice)
        response = self.password_step()
        self.assertRedirects(response, CODE_STEP, fetch_redirect_response=False)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertEqual(self.client.get(OVERVIEW).status_code, 302)
        response = self.client.post(CODE_STEP, {"code": code_for(device)})
        self.assertRedirects(response, OVERVIEW, fetch_redirect_response=False)
        self.assertEqual(int(self.client.session["_auth_user_id"]), self.alice.pk)
        self.assertEqual(self.client.get(OVERVIEW).status_code, 200)
        self.assertIn(Action.LOGIN, self.actions(self.alice))

    def test_a_wrong_code_does_not_log_in_and_is_audited(self):
        self.enrol(self.alice)
        self.password_step()
        response = self.client.post(CODE_STEP, {"code": "123456"})
        self.assertContains(response, "That code is not right")
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertIn(Action.MFA_FAILED, self.actions(self.alice))
        self.assertNotIn(Action.LOGIN, self.actions(self.alice))

    def test_a_code_is_good_only_once(self):
        device, _ = self.enrol(self.alice)
        code = code_for(device)
        self.password_step()
        self.client.post(CODE_STEP, {"code": code})
        self.client.post(reverse("accounts:logout"))
        self.password_step()
        response = self.client.post(CODE_STEP, {"code": code})
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_it_keeps_the_next_page(self):
        device, _ = self.enrol(self.alice)
        security = reverse("accounts:security")
        self.client.post(
            f"{LOGIN}?next={security}",
            {"username": "alice@example.org", "password": PASSWORD, "next": security},
        )
        response = self.client.post(CODE_STEP, {"code": code_for(device)})
        self.assertRedirects(response, security, fetch_redirect_response=False)

    def test_the_code_step_needs_a_fresh_password(self):
        response = self.client.get(CODE_STEP)
        self.assertRedirects(response, LOGIN, fetch_redirect_response=False)
        device, _ = self.enrol(self.alice)
        self.password_step()
        self.later(301)
        response = self.client.post(CODE_STEP, {"code": code_for(device)})
        self.assertRedirects(response, LOGIN, fetch_redirect_response=False)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_a_wrong_password_reads_the_same_with_or_without_two_factor(self):
        self.enrol(self.alice)
        with_mfa = self.password_step(password="wrong" * 4)
        without = self.password_step(email="charlie@example.org", password="wrong" * 4)
        unknown = self.password_step(email="nobody@example.org", password="wrong" * 4)
        self.assertEqual(with_mfa.status_code, 200)
        self.assertEqual(with_mfa.context["form"].errors, without.context["form"].errors)
        self.assertEqual(with_mfa.context["form"].errors, unknown.context["form"].errors)

    @override_settings(AXES_FAILURE_LIMIT=3)
    def test_wrong_codes_count_towards_the_lockout(self):
        device, _ = self.enrol(self.alice)
        self.password_step()
        statuses = []
        for _ in range(3):
            statuses.append(self.client.post(CODE_STEP, {"code": "000000"}).status_code)
            self.later(5)
        self.assertEqual(statuses, [200, 200, 429])
        # Locked: neither the password nor a right code gets through.
        self.assertEqual(self.password_step().status_code, 429)
        response = self.client.post(CODE_STEP, {"code": code_for(device)})
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertNotEqual(response.status_code, 302)

    def test_a_recovery_code_logs_in_once(self):
        _, codes = self.enrol(self.alice)
        self.password_step()
        response = self.client.post(CODE_STEP, {"code": codes[0].upper()})
        self.assertRedirects(response, OVERVIEW, fetch_redirect_response=False)
        self.assertIn(Action.MFA_RECOVERY_USED, self.actions(self.alice))
        self.assertEqual(mfa.mfa_recovery_codes_left(user=self.alice), 9)
        self.client.post(reverse("accounts:logout"))
        self.password_step()
        response = self.client.post(CODE_STEP, {"code": codes[0]})
        self.assertContains(response, "That code is not right")
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_a_recovery_code_of_another_user_does_not_work(self):
        self.enrol(self.alice)
        _, charlies = self.enrol(self.charlie)
        self.password_step()
        self.client.post(CODE_STEP, {"code": charlies[0]})
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertNotEqual(
            mfa.recovery_code_digest(user=self.alice, code=charlies[0]),
            mfa.recovery_code_digest(user=self.charlie, code=charlies[0]),
        )

    def test_a_session_that_skipped_the_code_is_ended(self):
        self.enrol(self.alice)
        self.client.force_login(self.alice)  # as a session from before it was set up
        response = self.client.get(OVERVIEW)
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(LOGIN))
        self.assertNotIn("_auth_user_id", self.client.session)


class TurnOffAndRenewTests(MFATestCase):
    def login(self, device):
        self.password_step()
        self.client.post(CODE_STEP, {"code": code_for(device)})
        self.later()

    def test_it_turns_off_only_with_a_fresh_code(self):
        device, _ = self.enrol(self.alice)
        self.login(device)
        self.client.post(reverse("accounts:mfa_disable"), {"code": "000000"})
        self.assertTrue(mfa.mfa_enabled(user=self.alice))
        self.later(5)
        self.client.post(reverse("accounts:mfa_disable"), {"code": code_for(device)})
        self.assertFalse(AuthenticatorDevice.objects.filter(user=self.alice).exists())
        self.assertFalse(RecoveryCode.objects.filter(user=self.alice).exists())
        self.assertIn(Action.MFA_DISABLED, self.actions(self.alice))
        self.assertIn(Action.MFA_FAILED, self.actions(self.alice))

    def test_new_recovery_codes_replace_the_old_ones(self):
        device, old = self.enrol(self.alice)
        self.login(device)
        response = self.client.post(
            reverse("accounts:mfa_recovery_renew"), {"code": code_for(device)}
        )
        new = re.findall(r"<code>([a-z0-9-]{19})</code>", response.content.decode())
        self.assertEqual(len(new), mfa.RECOVERY_CODE_COUNT)
        self.assertIn(Action.MFA_RECOVERY_RENEWED, self.actions(self.alice))
        self.assertFalse(mfa._recovery_code_spend(user=self.alice, code=old[0]))
        self.assertTrue(mfa._recovery_code_spend(user=self.alice, code=new[0]))


class TeamRequirementTests(MFATestCase):
    URL = reverse("accounts:team_mfa")

    def test_the_owner_must_use_it_before_requiring_it(self):
        self.client.force_login(self.alice)
        self.client.post(self.URL, {"required": "on"})
        self.team.refresh_from_db()
        self.assertFalse(self.team.mfa_required)

    def test_members_without_it_are_sent_to_set_it_up(self):
        device, _ = self.enrol(self.alice)
        mfa.team_mfa_set(team=self.team, required=True, actor=self.alice)
        self.assertIn(Action.TEAM_MFA_REQUIRED, self.actions(self.alice))
        bob = self.client_class()
        bob.post(LOGIN, {"username": "bob@example.org", "password": PASSWORD})
        for url in (OVERVIEW, reverse("amazon:settings"), reverse("accounts:security")):
            response = bob.get(url)
            self.assertRedirects(response, SETUP, fetch_redirect_response=False)
        self.assertEqual(bob.get(SETUP).status_code, 200)
        # Once set up, bob goes on; and he cannot turn it off while it is required.
        bobs = AuthenticatorDevice.objects.get(user=self.bob)
        bob.post(SETUP, {"code": code_for(bobs)})
        self.assertEqual(bob.get(OVERVIEW).status_code, 200)
        self.later()
        bob.post(reverse("accounts:mfa_disable"), {"code": code_for(bobs)})
        self.assertTrue(mfa.mfa_enabled(user=self.bob))
        # The outsider's team did not ask for it (control).
        self.client.force_login(self.charlie)
        self.assertEqual(self.client.get(OVERVIEW).status_code, 200)

    def test_the_owner_turns_it_on_from_the_team_page(self):
        device, _ = self.enrol(self.alice)
        self.password_step()
        self.client.post(CODE_STEP, {"code": code_for(device)})
        response = self.client.post(self.URL, {"required": "on"})
        self.assertRedirects(response, reverse("accounts:team"), fetch_redirect_response=False)
        self.team.refresh_from_db()
        self.assertTrue(self.team.mfa_required)
        self.client.post(self.URL, {})
        self.team.refresh_from_db()
        self.assertFalse(self.team.mfa_required)
        self.assertIn(Action.TEAM_MFA_OPTIONAL, self.actions(self.alice))

    def test_a_member_cannot_change_it(self):
        self.client.force_login(self.bob)
        self.assertEqual(self.client.post(self.URL, {"required": "on"}).status_code, 404)


class StaffTests(MFATestCase):
    def test_staff_must_set_it_up(self):
        staff = make_user("staff@example.org")
        User.objects.filter(pk=staff.pk).update(is_staff=True)
        self.client.post(LOGIN, {"username": "staff@example.org", "password": PASSWORD})
        self.assertRedirects(self.client.get(OVERVIEW), SETUP, fetch_redirect_response=False)
        staff.refresh_from_db()
        device, _ = self.enrol(staff)
        self.client.post(reverse("accounts:logout"))
        self.client.post(LOGIN, {"username": "staff@example.org", "password": PASSWORD})
        self.client.post(CODE_STEP, {"code": code_for(device)})
        self.assertEqual(self.client.get(OVERVIEW).status_code, 200)
