"""Settings → Privacy → Export your data: the panel, its button, the download."""

from __future__ import annotations

from django.urls import reverse

from cvrtracker.audit.models import AuditEntry
from cvrtracker.privacy.models import DataExport
from cvrtracker.test import BaseTestCase

from .helpers import ExportsDirMixin

PANEL = reverse("privacy:export_panel")
START = reverse("privacy:export_start")
HTMX = {"HX-Request": "true"}


def download_url(export) -> str:
    return reverse("privacy:export_download", kwargs={"code": export.code})


class ExportViewTests(ExportsDirMixin, BaseTestCase):
    def test_the_privacy_page_loads_the_panel(self):
        self.client.force_login(self.alice)
        response = self.client.get(reverse("privacy:data"))
        self.assertContains(response, "Export your data")
        self.assertContains(response, f'hx-get="{PANEL}" hx-trigger="load"')

    def test_the_button_queues_an_export_and_the_panel_polls_until_ready(self):
        self.client.force_login(self.alice)
        with self.captureOnCommitCallbacks(execute=False) as queued:
            response = self.client.post(START, headers=HTMX, REMOTE_ADDR="203.0.113.5")
        self.assertEqual(len(queued), 1)
        self.assertContains(response, 'hx-trigger="every 2s"')
        self.assertContains(response, "<progress")
        self.assertNotContains(response, "Export my data")
        entry = AuditEntry.objects.get(action=AuditEntry.Action.DATA_EXPORT_REQUESTED)
        self.assertEqual(entry.ip, "203.0.113.5")

        from cvrtracker.privacy.export import data_export_build

        export = data_export_build(export=DataExport.objects.get())
        response = self.client.get(PANEL, headers=HTMX)
        self.assertNotContains(response, "every 2s")
        self.assertContains(response, download_url(export))
        self.assertContains(response, "Export my data")
        self.assertNotContains(response, "<html")

    def test_a_second_click_while_building_says_so(self):
        self.client.force_login(self.alice)
        with self.captureOnCommitCallbacks(execute=False):
            self.client.post(START, headers=HTMX)
            response = self.client.post(START, headers=HTMX)
        self.assertContains(response, "already being built")
        self.assertEqual(DataExport.objects.count(), 1)

    def test_without_javascript_the_button_leads_to_the_panels_page(self):
        self.client.force_login(self.alice)
        with self.captureOnCommitCallbacks(execute=False):
            response = self.client.post(START, follow=True)
        self.assertRedirects(response, PANEL)
        self.assertContains(response, "<progress")
        self.assertContains(response, "<html")

    def test_the_requester_downloads_the_zip_and_the_read_is_audited(self):
        export = self.build(self.alice)
        self.client.force_login(self.alice)
        response = self.client.get(download_url(export), REMOTE_ADDR="203.0.113.6")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/zip")
        self.assertIn("no-store", response["Cache-Control"])
        body = b"".join(response.streaming_content)
        self.assertEqual(len(body), int(response["Content-Length"]))
        self.assertTrue(body.startswith(b"PK\x03\x04"))
        entry = AuditEntry.objects.get(action=AuditEntry.Action.DATA_EXPORT_DOWNLOADED)
        self.assertEqual(
            (entry.actor, entry.team, entry.ip), (self.alice, self.team, "203.0.113.6")
        )

    def test_a_teammate_or_an_outsider_gets_404(self):
        export = self.build(self.alice)
        for other in (self.bob, self.charlie):
            self.client.force_login(other)
            self.assertEqual(self.client.get(download_url(export)).status_code, 404)
            self.assertNotContains(self.client.get(PANEL, headers=HTMX), str(export.code))
        self.assertFalse(AuditEntry.objects.filter(action=AuditEntry.Action.DATA_EXPORT_DOWNLOADED))

    def test_an_unknown_or_unfinished_export_gets_404(self):
        self.client.force_login(self.alice)
        with self.captureOnCommitCallbacks(execute=False):
            self.client.post(START)
        export = DataExport.objects.get()
        self.assertEqual(self.client.get(download_url(export)).status_code, 404)
        self.assertEqual(
            self.client.get("/settings/privacy/export/not-a-uuid/download/").status_code, 404
        )

    def test_the_start_refuses_get(self):
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(START).status_code, 405)
        self.assertFalse(DataExport.objects.exists())

    def test_a_failed_build_is_shown_plainly(self):
        DataExport.objects.create(
            requested_by=self.alice, team=self.team, status=DataExport.Status.FAILED,
            error="The export could not be built. Nothing was kept; please ask for a new one.",
        )  # fmt: skip
        self.client.force_login(self.alice)
        response = self.client.get(PANEL, headers=HTMX)
        self.assertContains(response, "Failed: The export could not be built.")
        self.assertContains(response, "Export my data")
