"""Settings → Access log: the team owner reads the team's whole audit trail."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qsl

import time_machine
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.test import BaseTestCase

URL = reverse("accounts:access_log")
Action = AuditEntry.Action


class AccessLogTests(BaseTestCase):
    def record(self, action, actor, *, ip="203.0.113.7", agent="Firefox/140.0", team=None):
        request = RequestFactory().get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
        return audit_record(action=action, request=request, actor=actor, team=team)

    def test_the_owner_sees_every_entry_of_the_team_with_who_what_and_where(self):
        self.record(Action.LOGIN, self.bob, ip="198.51.100.4", agent="Safari/18.1 (iPhone)")
        self.record(Action.PRODUCT_READ, self.bob)
        self.record(Action.API_PRODUCTS_READ, self.alice, agent="python-httpx/0.28.1")
        self.record(Action.LOGIN, self.charlie, ip="192.0.2.99")
        self.client.force_login(self.alice)
        page = self.client.get(URL)
        self.assertEqual(page.status_code, 200)
        for text in (
            "Logged in",
            "Read a product&#x27;s page",
            "Read product metrics through the API",
            "198.51.100.4",
            "Safari/18.1 (iPhone)",
            "python-httpx/0.28.1",
            "bob@example.org",
        ):
            self.assertContains(page, text)
        # Charlie's team's entries are not this team's.
        self.assertNotContains(page, "192.0.2.99")
        self.assertNotContains(page, "charlie@example.org")

    def test_a_member_gets_404(self):
        self.client.force_login(self.bob)
        self.assertEqual(self.client.get(URL).status_code, 404)

    def test_an_outsider_reads_only_their_own_teams_log(self):
        self.record(Action.LOGIN, self.bob, ip="198.51.100.4")
        self.record(Action.LOGIN, self.charlie, ip="192.0.2.99")
        self.client.force_login(self.charlie)
        page = self.client.get(URL)
        self.assertContains(page, "192.0.2.99")
        self.assertNotContains(page, "198.51.100.4")
        self.assertNotContains(page, "bob@example.org")

    def test_the_settings_nav_links_to_it_for_owners_only(self):
        self.client.force_login(self.alice)
        self.assertContains(self.client.get(reverse("accounts:team")), f'href="{URL}"')
        self.client.force_login(self.bob)
        self.assertNotContains(self.client.get(reverse("accounts:team")), f'href="{URL}"')

    def test_it_filters_by_kind_and_member(self):
        self.record(Action.LOGIN, self.bob, ip="198.51.100.1")
        self.record(Action.PASSWORD_CHANGED, self.bob, ip="198.51.100.2")
        self.record(Action.OVERVIEW_READ, self.bob, ip="198.51.100.3")
        self.record(Action.OVERVIEW_READ, self.alice, ip="198.51.100.4")
        self.client.force_login(self.alice)
        bob = self.bob.membership.code

        def ips(**params):
            content = self.client.get(URL, params).content.decode()
            return sorted(set(re.findall(r"198\.51\.100\.\d", content)))

        self.assertEqual(ips(kind="sign_ins"), ["198.51.100.1"])
        self.assertEqual(ips(kind="changes"), ["198.51.100.2"])
        self.assertEqual(ips(kind="data_reads"), ["198.51.100.3", "198.51.100.4"])
        self.assertEqual(ips(kind="data_reads", member=bob), ["198.51.100.3"])
        self.assertEqual(len(ips()), 4)

    def test_an_unknown_filter_shows_everything_and_says_so(self):
        self.record(Action.LOGIN, self.bob)
        self.client.force_login(self.alice)
        page = self.client.get(URL, {"kind": "everything-please", "member": "nobody"})
        self.assertContains(page, "not one of the choices")
        self.assertContains(page, "Logged in")

    def test_pages_follow_one_another_without_gaps_or_repeats(self):
        base = timezone.now() - timedelta(hours=1)
        for n in range(120):
            # Three entries share each timestamp: the code breaks the tie.
            with time_machine.travel(base + timedelta(seconds=n // 3), tick=False):
                self.record(Action.PRODUCT_READ, self.bob, ip=f"10.0.{n // 100}.{n % 100}")
        self.client.force_login(self.alice)
        seen, query, pages = [], {"kind": "data_reads"}, 0
        while True:
            content = self.client.get(URL, query).content.decode()
            pages += 1
            seen += re.findall(r"10\.0\.\d\.\d+", content)
            older = re.search(r'href="\?([^"]+)">Older entries', content)
            if not older:
                break
            query = dict(parse_qsl(html.unescape(older.group(1))))
            self.assertEqual(query["kind"], "data_reads")
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), 120)
        self.assertEqual(len(set(seen)), 120)
        self.assertIn("← Newest", content)

    def test_a_tampered_cursor_starts_over_with_a_message(self):
        self.record(Action.LOGIN, self.bob)
        self.client.force_login(self.alice)
        page = self.client.get(URL, {"cursor": "WyIyMDI2Il0:forged"})
        self.assertContains(page, "not valid any more")
        self.assertContains(page, "Logged in")
