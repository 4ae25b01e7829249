from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from cvrtracker.accounts import mfa
from cvrtracker.accounts.models import User
from cvrtracker.privacy.models import RightsRequest, SupportRequest
from cvrtracker.test import BaseTestCase, make_user


class StaffPagesTests(BaseTestCase):
    def setUp(self):
        now = timezone.now()
        self.overdue = RightsRequest.objects.create(
            kind="access",
            name="Olga Overdue",
            email="olga@example.net",
            created_at=now - timedelta(days=50),
            due_at=now - timedelta(days=5),
        )
        self.answered = RightsRequest.objects.create(
            kind="correction",
            name="Anna Answered",
            email="anna@example.net",
            created_at=now - timedelta(days=60),
            due_at=now - timedelta(days=15),
            status=RightsRequest.Status.ANSWERED,
            answered_at=now - timedelta(days=20),
        )
        self.support = SupportRequest.objects.create(
            name="Sam", email="sam@example.net", subject="Chart empty", message="Help"
        )
        self.staff = make_user("staff@example.org")
        User.objects.filter(pk=self.staff.pk).update(is_staff=True)
        self.staff.refresh_from_db()
        self.urls = [
            reverse("privacy:staff_requests"),
            reverse("privacy:staff_request", kwargs={"code": self.overdue.code}),
            reverse("privacy:staff_support", kwargs={"code": self.support.code}),
        ]

    def log_in_with_second_factor(self, user):
        device = mfa.mfa_enrolment_device(user=user)
        device.confirmed = True
        device.save()
        self.client.force_login(user)
        session = self.client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    def test_customers_get_404(self):
        self.log_in_with_second_factor(self.alice)  # even with a second factor
        for url in self.urls:
            self.assertEqual(self.client.get(url).status_code, 404, url)
            self.assertEqual(
                self.client.post(url, {"answer": "x", "status": "closed"}).status_code, 404
            )
        self.overdue.refresh_from_db()
        self.assertEqual(self.overdue.status, RightsRequest.Status.OPEN)

    def test_staff_without_a_second_factor_are_sent_to_set_one_up(self):
        self.client.force_login(self.staff)
        for url in self.urls:
            response = self.client.get(url)
            self.assertRedirects(
                response, reverse("accounts:mfa_setup"), fetch_redirect_response=False
            )

    def test_staff_with_an_unverified_session_are_logged_out(self):
        device = mfa.mfa_enrolment_device(user=self.staff)
        device.confirmed = True
        device.save()
        self.client.force_login(self.staff)  # password only: no second factor in this session
        response = self.client.get(self.urls[0])
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(reverse("accounts:login")))

    def test_the_list_puts_open_requests_first_and_flags_the_overdue(self):
        self.log_in_with_second_factor(self.staff)
        response = self.client.get(reverse("privacy:staff_requests"))
        self.assertEqual(response.status_code, 200)
        content = response.content.decode()
        self.assertLess(content.index("Olga Overdue"), content.index("Anna Answered"))
        self.assertEqual(content.count("Overdue</span>"), 1)
        self.assertIn("Chart empty", content)

    def test_staff_answer_a_rights_request_by_email(self):
        self.log_in_with_second_factor(self.staff)
        url = self.urls[1]
        self.assertContains(self.client.get(url), "Olga Overdue")
        response = self.client.post(url, {"answer": "Your copy is attached.", "status": "answered"})
        self.assertRedirects(
            response, reverse("privacy:staff_requests"), fetch_redirect_response=False
        )
        self.overdue.refresh_from_db()
        self.assertEqual(self.overdue.status, RightsRequest.Status.ANSWERED)
        self.assertEqual(self.overdue.answered_by, self.staff)
        self.assertIsNotNone(self.overdue.answered_at)
        [mail] = self.mailbox.to("olga@example.net")
        self.assertIn("Your copy is attached.", self.mailbox.body(mail))

    def test_staff_close_a_support_request_by_email(self):
        self.log_in_with_second_factor(self.staff)
        self.client.post(self.urls[2], {"answer": "Fixed on our side.", "status": "closed"})
        self.support.refresh_from_db()
        self.assertEqual(self.support.status, SupportRequest.Status.CLOSED)
        [mail] = self.mailbox.to("sam@example.net")
        self.assertIn("Re: Chart empty", mail["Subject"])

    def test_an_empty_answer_is_refused_and_nothing_is_sent(self):
        self.log_in_with_second_factor(self.staff)
        response = self.client.post(self.urls[2], {"answer": "", "status": "reopened"})
        self.assertEqual(response.status_code, 400)
        self.support.refresh_from_db()
        self.assertEqual(self.support.status, SupportRequest.Status.OPEN)
        self.assertEqual(self.mailbox.messages, [])

    def test_an_unknown_code_is_404_for_staff(self):
        self.log_in_with_second_factor(self.staff)
        url = reverse("privacy:staff_request", kwargs={"code": self.support.code})
        self.assertEqual(self.client.get(url).status_code, 404)
