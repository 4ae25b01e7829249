"""Settings → Access log: filters by action and days, and the CSV download."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import time_machine
from django.urls import reverse

from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record
from cvrtracker.test import BaseTestCase

URL = reverse("accounts:access_log")
CSV_URL = reverse("accounts:access_log_export")
Action = AuditEntry.Action


class AccessLogFilterTests(BaseTestCase):
    def setUp(self):
        for day, action, actor, ip in (
            (1, Action.LOGIN, self.bob, "198.51.100.1"),
            (2, Action.PRODUCT_READ, self.bob, "198.51.100.2"),
            (3, Action.LOGIN, self.alice, "198.51.100.3"),
            (4, Action.API_KEY_CREATED, self.alice, "198.51.100.4"),
        ):
            with time_machine.travel(datetime(2026, 3, day, 12, tzinfo=UTC), tick=False):
                audit_record(action=action, actor=actor, context=AuditContext(ip=ip))
        audit_record(action=Action.LOGIN, actor=self.charlie, context=AuditContext(ip="192.0.2.9"))
        self.client.force_login(self.alice)

    def shown(self, **query) -> set[str]:
        page = self.client.get(URL, query)
        self.assertEqual(page.status_code, 200)
        return {
            ip
            for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4")
            if ip in page.content.decode()
        }

    def test_no_filter_shows_everything_of_the_team(self):
        self.assertEqual(len(self.shown()), 4)

    def test_it_filters_by_action(self):
        self.assertEqual(self.shown(action=Action.LOGIN), {"198.51.100.1", "198.51.100.3"})

    def test_it_filters_by_person_and_action(self):
        member = self.team.memberships.get(user=self.bob)
        self.assertEqual(self.shown(action=Action.LOGIN, member=str(member.code)), {"198.51.100.1"})

    def test_it_filters_by_days_both_included(self):
        self.assertEqual(
            self.shown(since="2026-03-02", until="2026-03-03"), {"198.51.100.2", "198.51.100.3"}
        )
        self.assertEqual(self.shown(since="2026-03-04"), {"198.51.100.4"})

    def test_a_reversed_range_shows_everything_and_says_so(self):
        page = self.client.get(URL, {"since": "2026-03-04", "until": "2026-03-01"})
        self.assertContains(page, "not one of the choices")
        self.assertEqual(len(self.shown(since="2026-03-04", until="2026-03-01")), 4)

    def test_calendar_edges_are_answered(self):
        for since, until in (("0001-01-01", "9999-12-31"), ("9999-12-31", "9999-12-31")):
            self.assertEqual(
                self.client.get(URL, {"since": since, "until": until}).status_code, 200
            )
            self.assertEqual(
                self.client.get(CSV_URL, {"since": since, "until": until}).status_code, 200
            )


class AccessLogExportTests(BaseTestCase):
    def rows(self, response) -> list[dict]:
        self.assertEqual(response.status_code, 200)
        body = b"".join(response.streaming_content).decode().lstrip("\ufeff")
        return list(csv.DictReader(io.StringIO(body)))

    def test_the_download_lists_the_filtered_entries_and_is_audited(self):
        audit_record(action=Action.LOGIN, actor=self.bob, context=AuditContext(ip="198.51.100.5"))
        audit_record(action=Action.LOGOUT, actor=self.bob)
        audit_record(action=Action.LOGIN, actor=self.charlie, context=AuditContext(ip="192.0.2.9"))
        self.client.force_login(self.alice)
        response = self.client.get(CSV_URL, {"action": Action.LOGIN}, REMOTE_ADDR="203.0.113.3")
        self.assertIn("attachment", response["Content-Disposition"])
        self.assertIn("no-store", response["Cache-Control"])
        rows = self.rows(response)
        self.assertEqual([row["IP address"] for row in rows], ["198.51.100.5"])
        self.assertEqual(rows[0]["Email"], "bob@example.org")
        self.assertEqual(len(rows[0]["Hash"]), 64)
        download = AuditEntry.objects.get(action=Action.ACCESS_LOG_EXPORTED)
        self.assertEqual(
            (download.actor, download.team, download.ip, download.detail),
            (self.alice, self.team, "203.0.113.3", "action=auth.login"),
        )

    def test_the_download_includes_its_own_entry(self):
        self.client.force_login(self.alice)
        rows = self.rows(self.client.get(CSV_URL))
        self.assertEqual([row["Action"] for row in rows], [Action.ACCESS_LOG_EXPORTED])

    def test_a_browser_name_cannot_become_a_formula(self):
        audit_record(
            action=Action.LOGIN,
            actor=self.bob,
            context=AuditContext(ip="198.51.100.5", user_agent='=HYPERLINK("http://x")'),
        )
        self.client.force_login(self.alice)
        rows = self.rows(self.client.get(CSV_URL, {"action": Action.LOGIN}))
        self.assertEqual(rows[0]["Browser"], '\'=HYPERLINK("http://x")')

    def test_members_and_outsiders_get_404(self):
        for user in (self.bob, self.charlie):
            self.client.force_login(user)
            if user is self.charlie:
                # Charlie owns his own team: he downloads his log, never Alice's.
                audit_record(action=Action.LOGIN, actor=self.alice)
                rows = self.rows(self.client.get(CSV_URL))
                self.assertNotIn("alice@example.org", str(rows))
            else:
                self.assertEqual(self.client.get(CSV_URL).status_code, 404)
        self.assertFalse(
            AuditEntry.objects.filter(action=Action.ACCESS_LOG_EXPORTED, actor=self.bob).exists()
        )
