from django.urls import reverse

from cvrtracker.audit.models import AuditEntry
from cvrtracker.test import BaseTestCase

URL = reverse("accounts:profile")


class ProfileTests(BaseTestCase):
    def test_it_requires_login(self):
        response = self.client.get(URL)
        self.assertRedirects(response, f"{reverse('accounts:login')}?next={URL}")

    def test_it_corrects_the_name_at_once(self):
        self.client.force_login(self.alice)
        response = self.client.post(URL, {"name": "Alice Liddell", "email": "alice@example.org"})
        self.assertRedirects(response, URL)
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.name, "Alice Liddell")
        self.assertEqual(self.mailbox.messages, [])

    def test_a_new_name_is_audited_with_the_old_one(self):
        self.client.force_login(self.alice)
        self.client.post(
            URL,
            {"name": "Alice Liddell", "email": "alice@example.org"},
            REMOTE_ADDR="203.0.113.7",
        )
        entry = AuditEntry.objects.get(action=AuditEntry.Action.PROFILE_CHANGED)
        self.assertEqual(entry.actor, self.alice)
        self.assertEqual(entry.team, self.team)
        self.assertEqual(entry.ip, "203.0.113.7")
        self.assertEqual(entry.detail, "Alice → Alice Liddell")

    def test_saving_the_same_name_writes_no_entry(self):
        self.client.force_login(self.alice)
        self.client.post(URL, {"name": "Alice", "email": "alice@example.org"})
        self.assertFalse(AuditEntry.objects.filter(action=AuditEntry.Action.PROFILE_CHANGED))

    def test_a_blank_name_is_refused_and_the_old_one_kept(self):
        self.client.force_login(self.alice)
        response = self.client.post(URL, {"name": "   ", "email": "alice@example.org"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "This field is required")
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.name, "Alice")
        self.assertFalse(AuditEntry.objects.filter(action=AuditEntry.Action.PROFILE_CHANGED))

    def test_a_new_email_waits_for_its_link(self):
        self.client.force_login(self.alice)
        response = self.client.post(URL, {"name": "Alice", "email": "New@Example.org"}, follow=True)
        self.assertContains(response, "Your email changes once you follow it")
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.email, "alice@example.org")
        self.assertEqual(self.alice.pending_email, "new@example.org")
        self.assertEqual(len(self.mailbox.to("new@example.org")), 1)

    def test_it_refuses_an_email_of_another_account(self):
        self.client.force_login(self.alice)
        response = self.client.post(URL, {"name": "Alice", "email": "charlie@example.org"})
        self.assertContains(response, "belongs to another account")
        self.alice.refresh_from_db()
        self.assertEqual(self.alice.pending_email, "")

    def test_it_ignores_fields_it_does_not_offer(self):
        self.client.force_login(self.bob)
        self.client.post(
            URL, {"name": "Bob", "email": "bob@example.org", "is_staff": "on", "is_superuser": "on"}
        )
        self.bob.refresh_from_db()
        self.assertFalse(self.bob.is_staff)
        self.assertFalse(self.bob.is_superuser)

    def test_resend_sends_a_fresh_link_for_an_unverified_address(self):
        self.alice.email_verified_at = None
        self.alice.save()
        self.client.force_login(self.alice)
        self.client.post(reverse("accounts:resend_verification"))
        self.assertEqual(len(self.mailbox.to("alice@example.org")), 1)
