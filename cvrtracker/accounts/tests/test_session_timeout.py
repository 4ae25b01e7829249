from datetime import timedelta

import time_machine
from django.test import override_settings
from django.urls import reverse

from cvrtracker.test import PASSWORD, BaseTestCase

DASHBOARD = reverse("dashboard:overview")


@override_settings(SESSION_IDLE_TIMEOUT=30 * 60, SESSION_ABSOLUTE_TIMEOUT=8 * 3600)
class SessionTimeoutTests(BaseTestCase):
    def login(self):
        self.client.post(
            reverse("accounts:login"), {"username": "alice@example.org", "password": PASSWORD}
        )

    def test_it_ends_an_idle_session(self):
        with time_machine.travel("2026-11-29 10:00Z", tick=False) as clock:
            self.login()
            clock.shift(timedelta(minutes=29))
            self.assertEqual(self.client.get(DASHBOARD).status_code, 200)
            clock.shift(timedelta(minutes=31))
            response = self.client.get(DASHBOARD)
            self.assertEqual(response.status_code, 302)

    def test_activity_keeps_a_session_alive_until_the_absolute_limit(self):
        with time_machine.travel("2026-11-29 10:00Z", tick=False) as clock:
            self.login()
            for _ in range(15):  # 7.5 hours of activity every 30 minutes minus a bit
                clock.shift(timedelta(minutes=29, seconds=50))
                self.assertEqual(self.client.get(DASHBOARD).status_code, 200)
            clock.shift(timedelta(minutes=40))
            self.assertEqual(self.client.get(DASHBOARD).status_code, 302)
