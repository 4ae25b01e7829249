from unittest import mock

from django.test import TestCase, override_settings
from django.urls import reverse


class HealthzTests(TestCase):
    def test_it_reports_database_and_task_queue(self):
        response = self.client.get(reverse("front:healthz"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(), {"status": "ok", "checks": {"database": "ok", "task_queue": "ok"}}
        )
        self.assertIn("no-cache", response["Cache-Control"])

    @override_settings(REDIS_URL="redis://127.0.0.1:6379/0")
    def test_it_pings_redis_when_tasks_run_on_rq(self):
        response = self.client.get(reverse("front:healthz"))
        self.assertEqual(response.json()["checks"]["task_queue"], "ok")

    @override_settings(REDIS_URL="redis://127.0.0.1:1/0")
    def test_it_answers_503_when_the_queue_is_unreachable(self):
        with self.assertLogs("cvrtracker.front.health", "ERROR"):
            response = self.client.get(reverse("front:healthz"))
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"]["task_queue"], "error")

    def test_it_answers_503_when_the_database_fails(self):
        with (
            mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OSError),
            self.assertLogs("cvrtracker.front.views", "ERROR"),
        ):
            response = self.client.get(reverse("front:healthz"))
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["checks"]["database"], "error")
