"""Settings → Privacy → Delete your account (privacy/views/deletion.py)."""

from __future__ import annotations

from django.urls import reverse

from cvrtracker.accounts.models import Team, User
from cvrtracker.accounts.tests.test_mfa import MFATestCase, code_for
from cvrtracker.audit.models import AuditEntry
from cvrtracker.test import PASSWORD, BaseTestCase

URL = reverse("privacy:account_delete")


class AccountDeletePageTestCase(BaseTestCase):
    def post(self, user: User, **data):
        self.client.force_login(user)
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(URL, data)

    def test_the_privacy_page_links_to_it(self):
        self.client.force_login(self.alice)
        page = self.client.get(reverse("privacy:data")).content.decode()
        assert URL in page and "Delete your account" in page

    def test_it_says_who_takes_the_team_over(self):
        self.client.force_login(self.alice)
        page = self.client.get(URL).content.decode()
        assert "Ownership passes to <strong>Bob</strong>" in page
        assert "the member who joined the team first" in page

    def test_it_says_the_team_goes_with_its_last_member(self):
        self.client.force_login(self.charlie)
        page = self.client.get(URL).content.decode()
        assert "last member of <strong>Team Charlie</strong>" in page
        assert "Stripe subscription is cancelled" in page

    def test_a_confirmed_deletion_logs_out_and_lands_on_a_public_page(self):
        response = self.post(self.charlie, password=PASSWORD, email="  Charlie@Example.org ")
        assert response.status_code == 302
        assert response["Location"] == reverse("privacy:account_deleted")
        page = self.client.get(response["Location"])
        assert page.status_code == 200 and "Your account is deleted" in page.content.decode()
        assert self.client.get(reverse("accounts:profile")).status_code == 302
        assert User.objects.get(pk=self.charlie.pk).deletion_requested_at is not None
        entry = AuditEntry.objects.get(action=AuditEntry.Action.ACCOUNT_DELETION_REQUESTED)
        assert entry.ip == "127.0.0.1"

    def test_the_wrong_email_deletes_nothing(self):
        response = self.post(self.charlie, password=PASSWORD, email="alice@example.org")
        assert response.status_code == 200
        assert "not this account&#x27;s email address" in response.content.decode()
        assert User.objects.get(pk=self.charlie.pk).is_active

    def test_the_wrong_password_deletes_nothing(self):
        response = self.post(self.charlie, password="wrong one", email="charlie@example.org")
        assert response.status_code == 200
        assert "That password is not right. Nothing was deleted." in response.content.decode()
        charlie = User.objects.get(pk=self.charlie.pk)
        assert charlie.is_active and charlie.deletion_requested_at is None
        assert Team.objects.get(pk=self.charlies_team.pk).deletion_requested_at is None

    def test_bad_input_is_a_clear_error(self):
        for data in (
            {},
            {"password": "a\x00b", "email": "charlie@example.org"},
            {"password": PASSWORD, "email": "x" * 5000},
            {"password": "p" * 10_000, "email": "charlie@example.org"},
        ):
            response = self.post(self.charlie, **data)
            # A NUL byte is refused before the view (400); the rest re-show the form.
            assert response.status_code in (200, 400), data
        assert User.objects.get(pk=self.charlie.pk).is_active

    def test_the_deleted_page_is_public(self):
        response = self.client.get(reverse("privacy:account_deleted"))
        assert response.status_code == 200


class TwoFactorTestCase(MFATestCase):
    def test_with_two_factor_log_in_a_current_code_is_needed_too(self):
        device, _ = self.enrol(self.charlie)
        self.password_step("charlie@example.org")
        self.client.post(reverse("accounts:login_mfa"), {"code": code_for(device)})
        self.later()
        confirm = {"password": PASSWORD, "email": "charlie@example.org"}
        response = self.client.post(URL, confirm)
        assert response.status_code == 200
        assert "This field is required" in response.content.decode()
        response = self.client.post(URL, {**confirm, "code": "000000"})
        assert "That code is not right" in response.content.decode()
        assert AuditEntry.objects.filter(
            actor=self.charlie, action=AuditEntry.Action.MFA_FAILED
        ).exists()
        assert User.objects.get(pk=self.charlie.pk).is_active
        self.later(5)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(URL, {**confirm, "code": code_for(device)})
        assert response.status_code == 302
        assert not User.objects.get(pk=self.charlie.pk).is_active
