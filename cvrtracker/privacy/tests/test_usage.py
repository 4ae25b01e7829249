from datetime import UTC, datetime, timedelta

import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cvrtracker.accounts.models import User
from cvrtracker.privacy.models import UsageEvent
from cvrtracker.privacy.usage import BUFFER, usage_flush, usage_purge_expired
from cvrtracker.test import BaseTestCase

AGENT = "Mozilla/5.0 (X11; Linux x86_64) UsageTest/1.0"
PROFILE = "/accounts/settings/profile/"


@override_settings(USAGE_FLUSH_EVENTS=1, USAGE_FLUSH_SECONDS=3600)
class UsageMiddlewareTests(BaseTestCase):
    """Every recorded request is written at once here (a batch of one)."""

    def setUp(self):
        self.client.force_login(self.alice)

    def get(self, path, **extra):
        return self.client.get(path, REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT=AGENT, **extra)

    def test_it_records_a_page_view_with_ip_browser_and_path(self):
        response = self.get(reverse("accounts:profile") + "?q=secret")
        self.assertEqual(response.status_code, 200)
        event = UsageEvent.objects.get()
        self.assertEqual(event.user, self.alice)
        self.assertEqual(event.ip, "203.0.113.7")
        self.assertEqual(event.user_agent, AGENT)
        self.assertEqual(event.method, "GET")
        # The path only: a query string may hold what the user searched for.
        self.assertEqual(event.path, reverse("accounts:profile"))

    def test_it_records_a_form_sent(self):
        self.client.post(
            reverse("accounts:profile"),
            {"name": "Alice", "email": self.alice.email},
            REMOTE_ADDR="203.0.113.7",
        )
        self.assertEqual(list(UsageEvent.objects.values_list("method", flat=True)), ["POST"])

    def test_it_skips_health_checks_static_files_htmx_partials_and_redirects(self):
        self.get(reverse("front:healthz"))
        self.get("/static/css/app.css")
        self.get(reverse("privacy:usage_panel"), HTTP_HX_REQUEST="true")
        self.get(reverse("front:settings"))  # a redirect to the profile page
        self.assertFalse(UsageEvent.objects.exists())
        # Control: a page is recorded.
        self.get(reverse("privacy:data"))
        self.assertEqual(UsageEvent.objects.count(), 1)

    def test_it_skips_anonymous_visitors(self):
        self.client.logout()
        self.get(reverse("front:index"))
        self.get(reverse("privacy:cookies"))
        self.assertFalse(UsageEvent.objects.exists())

    def test_it_records_the_user_agent_cut_to_its_column(self):
        self.client.get(reverse("privacy:data"), HTTP_USER_AGENT="x" * 1000)
        self.assertEqual(len(UsageEvent.objects.get().user_agent), 300)


class UsageBatchTests(BaseTestCase):
    def setUp(self):
        self.client.force_login(self.alice)

    @override_settings(USAGE_FLUSH_EVENTS=3, USAGE_FLUSH_SECONDS=3600)
    def test_it_writes_in_one_insert_every_n_events(self):
        page = reverse("privacy:data")
        self.client.get(page)
        self.client.get(page)
        self.assertEqual(UsageEvent.objects.count(), 0)
        self.assertEqual(len(BUFFER), 2)
        with CaptureQueriesContext(connection) as queries:
            self.client.get(page)
        inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "privacy_usageevent"')]
        self.assertEqual(len(inserts), 1)
        self.assertEqual(UsageEvent.objects.count(), 3)
        self.assertEqual(len(BUFFER), 0)

    def test_it_writes_after_usage_flush_seconds(self):
        page = reverse("privacy:data")
        with override_settings(USAGE_FLUSH_EVENTS=1000, USAGE_FLUSH_SECONDS=3600):
            self.client.get(page)
        self.assertEqual(UsageEvent.objects.count(), 0)
        with override_settings(USAGE_FLUSH_EVENTS=1000, USAGE_FLUSH_SECONDS=0):
            self.client.get(page)
        self.assertEqual(UsageEvent.objects.count(), 2)

    @override_settings(USAGE_FLUSH_EVENTS=1000, USAGE_FLUSH_SECONDS=3600)
    def test_a_deleted_users_events_do_not_fail_the_batch(self):
        self.client.get(reverse("privacy:data"))
        self.client.force_login(self.bob)
        self.client.get(reverse("privacy:data"))
        User.objects.filter(pk=self.alice.pk).delete()
        self.assertEqual(usage_flush(), 1)
        self.assertEqual(list(UsageEvent.objects.values_list("user", flat=True)), [self.bob.pk])


class UsagePanelTests(BaseTestCase):
    def test_it_shows_only_the_users_own_events_newest_first(self):
        now = datetime(2026, 11, 1, 12, tzinfo=UTC)
        UsageEvent.objects.create(user=self.alice, at=now, method="GET", path="/alice-old/")
        UsageEvent.objects.create(
            user=self.alice, at=now + timedelta(hours=1), method="GET", path="/alice-new/"
        )
        UsageEvent.objects.create(user=self.bob, at=now, method="GET", path="/bob-page/")
        self.client.force_login(self.alice)
        response = self.client.get(reverse("privacy:usage_panel"), HTTP_HX_REQUEST="true")
        self.assertEqual(response.status_code, 200)
        content = response.content.decode()
        self.assertIn("deleted 365 days after it was recorded", content)
        self.assertNotIn("/bob-page/", content)
        self.assertLess(content.index("/alice-new/"), content.index("/alice-old/"))

    def test_it_pages_by_fifty(self):
        now = datetime(2026, 11, 1, 12, tzinfo=UTC)
        UsageEvent.objects.bulk_create(
            UsageEvent(
                user=self.alice, at=now + timedelta(minutes=i), method="GET", path=f"/p{i:03}/"
            )
            for i in range(60)
        )
        self.client.force_login(self.alice)
        panel = reverse("privacy:usage_panel")
        # As htmx loads it (a page view of its own otherwise, which would shift the pages).
        first = self.client.get(panel, HTTP_HX_REQUEST="true").content.decode()
        self.assertIn("/p059/", first)
        self.assertIn("/p010/", first)
        self.assertNotIn("/p009/", first)
        self.assertIn("?page=2", first)
        second = self.client.get(panel + "?page=2", HTTP_HX_REQUEST="true").content.decode()
        self.assertIn("/p009/", second)
        self.assertNotIn("/p010/", second)

    def test_it_shows_the_page_just_visited(self):
        # Still in this process's buffer: the panel writes it before reading.
        self.client.force_login(self.alice)
        self.client.get(reverse("privacy:data"))
        response = self.client.get(reverse("privacy:usage_panel"), HTTP_HX_REQUEST="true")
        self.assertContains(response, reverse("privacy:data"))

    def test_the_privacy_page_loads_the_panel(self):
        self.client.force_login(self.alice)
        response = self.client.get(reverse("privacy:data"))
        self.assertContains(response, f'hx-get="{reverse("privacy:usage_panel")}"')

    def test_a_bad_page_number_shows_the_last_page(self):
        self.client.force_login(self.alice)
        response = self.client.get(reverse("privacy:usage_panel") + "?page=99999999999999999999")
        self.assertEqual(response.status_code, 200)


class UsagePurgeTests(BaseTestCase):
    NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)

    def test_it_keeps_month_11_and_deletes_month_13(self):
        month_11 = UsageEvent.objects.create(
            user=self.alice, at=self.NOW - timedelta(days=335), method="GET", path="/m11/"
        )
        UsageEvent.objects.create(
            user=self.alice, at=self.NOW - timedelta(days=395), method="GET", path="/m13/"
        )
        with time_machine.travel(self.NOW, tick=False):
            self.assertEqual(usage_purge_expired(now=self.NOW), 1)
        self.assertEqual(list(UsageEvent.objects.all()), [month_11])

    def test_the_boundary_is_usage_retention_days(self):
        edge = self.NOW - timedelta(days=365)
        UsageEvent.objects.create(user=self.alice, at=edge, method="GET", path="/edge/")
        UsageEvent.objects.create(
            user=self.alice, at=edge - timedelta(seconds=1), method="GET", path="/older/"
        )
        with time_machine.travel(self.NOW, tick=False):
            self.assertEqual(usage_purge_expired(now=self.NOW), 1)
        self.assertEqual(UsageEvent.objects.get().path, "/edge/")

    def test_it_is_a_retention_rule(self):
        from cvrtracker.privacy.retention import RULES

        functions = {rule.name: rule.load() for rule in RULES}
        self.assertIs(functions["usage"], usage_purge_expired)
