from datetime import UTC, datetime, timedelta

import time_machine
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from cvrtracker.audit.models import AuditEntry
from cvrtracker.privacy.models import RightsRequest, SupportRequest
from cvrtracker.privacy.requests import requests_purge_expired
from cvrtracker.test import BaseTestCase

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
RIGHTS = {
    "name": "Erin Example",
    "email": "erin@example.net",
    "kind": "deletion",
    "california_resident": "on",
    "details": "Please delete everything.",
    "website": "",
}
SUPPORT = {
    "name": "Erin Example",
    "email": "erin@example.net",
    "subject": "The chart is empty",
    "message": "Since Monday the overview shows no data.",
    "website": "",
}


@override_settings(SUPPORT_EMAIL="help@cvr.example")
class RightsRequestTests(BaseTestCase):
    def setUp(self):
        cache.clear()

    def test_the_page_says_we_do_not_sell_or_share(self):
        response = self.client.get(reverse("privacy:rights"))
        self.assertContains(response, "We do not sell or share your personal information")
        self.assertContains(response, "within 45 days")
        self.assertContains(response, "California resident")

    def test_an_anonymous_request_is_recorded_due_in_45_days_and_confirmed(self):
        with time_machine.travel(NOW, tick=False):
            response = self.client.post(reverse("privacy:rights"), RIGHTS, follow=True)
        self.assertContains(response, "We answer within 45 days")
        item = RightsRequest.objects.get()
        self.assertEqual(item.kind, RightsRequest.Kind.DELETION)
        self.assertEqual(item.status, RightsRequest.Status.OPEN)
        self.assertTrue(item.california_resident)
        self.assertIsNone(item.user)
        self.assertEqual(item.due_at, NOW + timedelta(days=45))
        [confirmation] = self.mailbox.to("erin@example.net")
        self.assertIn("December 1, 2026", self.mailbox.body(confirmation))
        self.assertIn("January 15, 2027", self.mailbox.body(confirmation))
        [staff] = self.mailbox.to("help@cvr.example")
        self.assertIn(
            reverse("privacy:staff_request", kwargs={"code": item.code}),
            staff_body := self.mailbox.body(staff),
        )
        self.assertIn("California resident: yes", staff_body)
        self.assertFalse(
            AuditEntry.objects.filter(action=AuditEntry.Action.RIGHTS_REQUEST_MADE).exists()
        )

    def test_a_signed_in_users_request_is_linked_audited_and_listed(self):
        self.client.force_login(self.alice)
        form = self.client.get(reverse("privacy:rights"))
        self.assertContains(form, self.alice.email)
        self.client.post(reverse("privacy:rights"), {**RIGHTS, "email": self.alice.email})
        item = RightsRequest.objects.get()
        self.assertEqual(item.user, self.alice)
        entry = AuditEntry.objects.get(action=AuditEntry.Action.RIGHTS_REQUEST_MADE)
        self.assertEqual(
            (entry.actor, entry.team, entry.target_code), (self.alice, self.team, str(item.code))
        )
        panel = self.client.get(reverse("privacy:requests_panel"), HTTP_HX_REQUEST="true")
        self.assertContains(panel, "Deletion of my information")
        self.assertContains(panel, "Open")
        self.assertContains(panel, f"{item.due_at:%b} {item.due_at.day}, {item.due_at:%Y}")

    def test_the_panel_lists_only_the_users_own_requests(self):
        self.client.force_login(self.bob)
        self.client.post(reverse("privacy:rights"), {**RIGHTS, "kind": "correction"})
        self.client.force_login(self.alice)
        panel = self.client.get(reverse("privacy:requests_panel"), HTTP_HX_REQUEST="true")
        self.assertNotContains(panel, "Correction")
        self.assertContains(panel, "You have made no request")

    def test_bad_input_is_refused_and_kept(self):
        bad = {**RIGHTS, "email": "not-an-address", "kind": "sell-it"}
        response = self.client.post(reverse("privacy:rights"), bad)
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "Enter a valid email address", status_code=400)
        self.assertContains(response, "Please delete everything.", status_code=400)
        self.assertContains(response, 'value="Erin Example"', status_code=400)
        self.assertFalse(RightsRequest.objects.exists())
        self.assertEqual(self.mailbox.messages, [])

    def test_a_line_break_in_the_name_is_refused(self):
        response = self.client.post(
            reverse("privacy:rights"), {**RIGHTS, "name": "Erin\r\nBcc: x@y"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(RightsRequest.objects.exists())

    def test_the_honeypot_stores_and_sends_nothing(self):
        response = self.client.post(
            reverse("privacy:rights"), {**RIGHTS, "website": "http://spam"}, follow=True
        )
        # The same answer a person gets, so the bot learns nothing.
        self.assertContains(response, "Thank you")
        self.assertFalse(RightsRequest.objects.exists())
        self.assertEqual(self.mailbox.messages, [])

    @override_settings(PUBLIC_FORM_LIMIT_PER_HOUR=2)
    def test_it_throttles_each_ip_address_and_keeps_the_message(self):
        url = reverse("privacy:rights")
        with time_machine.travel(NOW, tick=False):
            for _ in range(2):
                self.client.post(url, RIGHTS, REMOTE_ADDR="198.51.100.1")
            refused = self.client.post(url, RIGHTS, REMOTE_ADDR="198.51.100.1")
            self.assertEqual(refused.status_code, 429)
            self.assertContains(refused, "Too many messages", status_code=429)
            self.assertContains(refused, "Please delete everything.", status_code=429)
            # The support form shares the limit; another address does not.
            support = self.client.post(
                reverse("privacy:support"), SUPPORT, REMOTE_ADDR="198.51.100.1"
            )
            self.assertEqual(support.status_code, 429)
            other = self.client.post(url, RIGHTS, REMOTE_ADDR="198.51.100.2")
            self.assertEqual(other.status_code, 302)
        self.assertEqual(RightsRequest.objects.count(), 3)
        self.assertFalse(SupportRequest.objects.exists())
        # The next hour, the first address may write again.
        with time_machine.travel(NOW + timedelta(hours=1), tick=False):
            again = self.client.post(url, RIGHTS, REMOTE_ADDR="198.51.100.1")
        self.assertEqual(again.status_code, 302)

    def test_a_mail_server_down_loses_no_request(self):
        with self.settings(
            MAILERS={
                "default": {
                    "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                    "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
                }
            }
        ):
            response = self.client.post(reverse("privacy:rights"), RIGHTS)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(RightsRequest.objects.count(), 1)


@override_settings(SUPPORT_EMAIL="help@cvr.example")
class SupportRequestTests(BaseTestCase):
    def setUp(self):
        cache.clear()

    def test_it_stores_confirms_and_forwards_a_message(self):
        response = self.client.post(reverse("privacy:support"), SUPPORT, follow=True)
        self.assertContains(response, "Thank you")
        item = SupportRequest.objects.get()
        self.assertEqual((item.subject, item.status, item.user), (SUPPORT["subject"], "open", None))
        [confirmation] = self.mailbox.to("erin@example.net")
        self.assertIn("The chart is empty", confirmation["Subject"])
        [staff] = self.mailbox.to("help@cvr.example")
        self.assertIn("Since Monday the overview shows no data.", self.mailbox.body(staff))
        self.assertIn(
            reverse("privacy:staff_support", kwargs={"code": item.code}), self.mailbox.body(staff)
        )

    def test_a_signed_in_users_message_is_linked(self):
        self.client.force_login(self.alice)
        self.assertContains(self.client.get(reverse("privacy:support")), self.alice.email)
        self.client.post(reverse("privacy:support"), SUPPORT)
        self.assertEqual(SupportRequest.objects.get().user, self.alice)

    def test_a_line_break_in_the_subject_is_refused_and_the_message_kept(self):
        response = self.client.post(
            reverse("privacy:support"), {**SUPPORT, "subject": "Hi\nBcc: x@y"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "Since Monday the overview shows no data.", status_code=400)
        self.assertFalse(SupportRequest.objects.exists())

    def test_an_empty_message_is_refused(self):
        response = self.client.post(reverse("privacy:support"), {**SUPPORT, "message": ""})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(SupportRequest.objects.exists())

    def test_the_honeypot_stores_and_sends_nothing(self):
        self.client.post(reverse("privacy:support"), {**SUPPORT, "website": "x"})
        self.assertFalse(SupportRequest.objects.exists())
        self.assertEqual(self.mailbox.messages, [])


class RequestsPurgeTests(BaseTestCase):
    def rights(self, *, status, answered_days_ago, **extra):
        answered = NOW - timedelta(days=answered_days_ago)
        return RightsRequest.objects.create(
            kind="access",
            name="E",
            email="e@example.net",
            status=status,
            created_at=answered - timedelta(days=10),
            due_at=answered + timedelta(days=35),
            answered_at=answered,
            **extra,
        )

    def support(self, *, status, answered_days_ago):
        answered = NOW - timedelta(days=answered_days_ago)
        return SupportRequest.objects.create(
            name="E",
            email="e@example.net",
            subject="s",
            message="m",
            status=status,
            created_at=answered - timedelta(days=1),
            answered_at=answered,
        )

    def test_rights_requests_go_730_days_after_their_answer_and_not_before(self):
        kept = self.rights(status="answered", answered_days_ago=729)
        self.rights(status="answered", answered_days_ago=731)
        self.rights(status="closed", answered_days_ago=731)
        with time_machine.travel(NOW, tick=False):
            self.assertEqual(requests_purge_expired(now=NOW), 2)
        self.assertEqual(list(RightsRequest.objects.all()), [kept])

    def test_support_requests_go_365_days_after_their_answer_and_not_before(self):
        kept = self.support(status="closed", answered_days_ago=364)
        self.support(status="closed", answered_days_ago=366)
        with time_machine.travel(NOW, tick=False):
            self.assertEqual(requests_purge_expired(now=NOW), 1)
        self.assertEqual(list(SupportRequest.objects.all()), [kept])

    def test_open_requests_stay_however_old(self):
        old = NOW - timedelta(days=2000)
        RightsRequest.objects.create(
            kind="access", name="E", email="e@example.net", created_at=old, due_at=old
        )
        SupportRequest.objects.create(
            name="E", email="e@example.net", subject="s", message="m", created_at=old
        )
        self.assertEqual(requests_purge_expired(now=NOW), 0)

    def test_it_is_a_retention_rule(self):
        from cvrtracker.privacy.retention import RULES

        functions = {rule.name: rule.load() for rule in RULES}
        self.assertIs(functions["requests"], requests_purge_expired)
