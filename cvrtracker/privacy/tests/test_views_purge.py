"""Settings → Privacy → "Amazon data deleted" (privacy/views/purge.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.test import TransactionTestCase, override_settings

from cvrtracker.privacy.models import ConnectionDeletion
from cvrtracker.test import BaseTestCase

URL = "/settings/privacy/deletions/"


class DeletionsPanelTestCase(BaseTestCase):
    def receipt(self, team, **fields) -> ConnectionDeletion:
        return ConnectionDeletion.objects.create(
            team=team,
            connection_code=uuid.uuid4(),
            region="NA",
            reason=fields.pop("reason", "disconnected"),
            stopped_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
            **fields,
        )

    def test_it_lists_the_teams_receipts_with_their_counts(self):
        self.receipt(
            self.team,
            purged_at=datetime(2026, 11, 2, 9, 31, tzinfo=UTC),
            counts={"listings": 200, "sales_traffic_days": 731, "orders": 3374},
        )
        self.receipt(self.team, reason="revoked")
        for user in (self.alice, self.bob):
            self.client.force_login(user)
            page = self.client.get(URL)
            self.assertContains(page, "Disconnected by your team")
            self.assertContains(page, "Nov 2, 2026 09:30")
            self.assertContains(page, "Nov 2, 2026 09:31")
            self.assertContains(
                page, "Listings: 200; Sales &amp; Traffic report days: 731; Orders: 3374"
            )
            self.assertContains(page, "Access revoked or expired at Amazon")
            self.assertContains(page, "Being deleted")

    def test_outsiders_see_none_of_them(self):
        self.receipt(self.team, counts={"listings": 200})
        self.client.force_login(self.charlie)
        page = self.client.get(URL)
        self.assertContains(page, "No Amazon data has been deleted for your team.")
        self.assertNotContains(page, "Listings: 200")

    def test_the_privacy_page_loads_the_panel(self):
        self.client.force_login(self.alice)
        self.assertContains(self.client.get("/settings/privacy/"), f'hx-get="{URL}"')

    def test_it_wants_a_signed_in_get(self):
        assert self.client.get(URL).status_code == 302
        self.client.force_login(self.alice)
        assert self.client.post(URL).status_code == 405


class DisconnectWithAQuickPurgeTestCase(TransactionTestCase):
    """The purge is queued when the stop commits; an immediate task backend (or a quick
    worker) deletes the row before the disconnect returns: the page must not fail.
    Real commits here, so the purge runs inside the request as it would."""

    @pytest.fixture(autouse=True)
    def _tmp_exports(self, settings, tmp_path):
        settings.EXPORTS_DIR = tmp_path

    def test_disconnect_answers_a_redirect_when_the_purge_ran_first(self):
        from cvrtracker.alerts.tests.helpers import make_connection
        from cvrtracker.amazon.models import SellerConnection
        from cvrtracker.test import make_user

        owner = make_user("quick@example.org")
        connection = make_connection(owner.membership.team)
        immediate = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
        self.client.force_login(owner)
        with override_settings(TASKS=immediate):
            answer = self.client.post(f"/amazon/{connection.code}/disconnect/")
        self.assertEqual(answer.status_code, 302)
        self.assertFalse(SellerConnection.objects.filter(pk=connection.pk).exists())
        self.assertTrue(ConnectionDeletion.objects.filter(connection_code=connection.code))
