"""Every page that shows a seller's Amazon data records the read in the audit trail.

The test walks the URL configuration: each named pattern is requested (GET) by the
team's owner, with its identifiers filled from a seller whose store name, product
title, SKU and alert carry canary strings. A response that shows a canary must have
written an entry of a data-read action (AuditEntry.DATA_READS) for that owner and
team in that request. A pattern that takes an identifier and is in neither map
below fails the test, so a new page cannot be added without saying what it shows.
The API (bearer keys) has its own tests in cvrtracker/api/tests.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile

import time_machine
from django.test import override_settings
from django.urls import reverse

from cvrtracker.alerts.tests.helpers import make_alert, make_rule
from cvrtracker.audit.models import AuditEntry
from cvrtracker.dashboard.tests.helpers import NOW, UP, US, ingest, make_connection
from cvrtracker.listings.services import listings_admit
from cvrtracker.listings.tests.helpers import item
from cvrtracker.privacy.export import data_export_build, data_export_request
from cvrtracker.test import BaseTestCase
from tests.test_url_access import BEARER, PUBLIC, named_patterns

STORE, TITLE, SKU, ALERT = "CANARYSTORE", "CANARYTITLE", "CANARYSKU", "CANARYALERT"
CANARIES = (STORE, TITLE, SKU, ALERT)
# Patterns whose identifiers name no Amazon data of the team (or that only POST).
NO_AMAZON_DATA = {
    "accounts:member_remove",
    "accounts:invitation_cancel",
    "billing:invoice",
    "api_keys:revoke",
    "amazon:connect",
    "amazon:simulator_image",  # a public demo image, not seller data
    "alerts:rule_switch",
    "alerts:rule_delete",
    "alerts:channel_edit",
    "alerts:channel_test",
    "alerts:channel_resume",
    "alerts:channel_delete",
    "privacy:staff_request",  # a privacy rights request (staff only)
    "privacy:staff_support",  # a support request (staff only)
}


class AmazonReadsAuditedTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        with time_machine.travel(NOW, tick=False):
            cls.connection = make_connection(cls.team)
            cls.connection.store_name_enc = cls.connection.seal("store_name", STORE)
            cls.connection.save()
            ingest(cls.connection)
            cls.listing = listings_admit(
                connection=cls.connection,
                marketplace_id=US,
                items=[item(SKU, UP, title=f"{TITLE} garlic press")],
            )[SKU]
            cls.rule = make_rule(cls.team)
            # Scoped to the account: the rules list names it by its store name.
            cls.rule.connection = cls.connection
            cls.rule.save()
            cls.alert = make_alert(
                cls.rule,
                cls.connection,
                payload={"title": ALERT, "field": "title", "before": "a", "after": ALERT},
            )
            # A data export of the team, built as the worker would, in a directory of
            # the class's own.
            exports_dir = tempfile.mkdtemp(prefix="cvrt-exports-")
            cls.addClassCleanup(shutil.rmtree, exports_dir, ignore_errors=True)
            cls.enterClassContext(override_settings(EXPORTS_DIR=exports_dir))
            cls.export = data_export_build(export=data_export_request(user=cls.alice))

    def kwargs_for(self, name: str) -> dict | None:
        product = {"code": self.connection.code, "marketplace": US, "asin": UP}
        return {
            "amazon:products": {"code": self.connection.code},
            "amazon:disconnect": {"code": self.connection.code},
            "amazon:product_tracking": {"code": self.listing.code},
            "listings:account_changes": {"code": self.connection.code},
            "listings:product_changes": {"code": self.listing.code},
            "dashboard:products_export": {"fmt": "csv"},
            "dashboard:product": product,
            "dashboard:product_series_export": {**product, "fmt": "csv"},
            "dashboard:product_changes_export": {**product, "fmt": "csv"},
            "dashboard:account_changes_export": {"code": self.connection.code, "fmt": "csv"},
            "dashboard:listing_changes_export": {"code": self.listing.code, "fmt": "csv"},
            "alerts:alert": {"code": self.alert.code},
            "alerts:rule_edit": {"code": self.rule.code},
            "privacy:export_download": {"code": self.export.code},
        }.get(name)

    def pages(self):
        for name, pattern in named_patterns():
            if name in PUBLIC | BEARER or name in NO_AMAZON_DATA:
                continue
            kwargs = self.kwargs_for(name)
            if kwargs is None:
                assert not pattern.pattern.converters, (
                    f"{name} takes {sorted(pattern.pattern.converters)}: say in "
                    "tests/test_amazon_reads_audited.py what it shows (kwargs_for) or that "
                    "it shows no Amazon data (NO_AMAZON_DATA)"
                )
                kwargs = {}
            yield name, reverse(name, kwargs=kwargs)

    def unaudited_reads(self) -> tuple[list[str], list[str]]:
        """The pages that showed a canary, and those of them that recorded no read."""
        shown, unaudited = [], []
        self.client.force_login(self.alice)
        for name, url in self.pages():
            before = set(AuditEntry.objects.values_list("pk", flat=True))
            with time_machine.travel(NOW, tick=False):
                response = self.client.get(url, REMOTE_ADDR="203.0.113.50")
            raw = b"".join(response.streaming_content) if response.streaming else response.content
            if response.get("Content-Type") == "application/zip":  # a data export: its files
                archive = zipfile.ZipFile(io.BytesIO(raw))
                raw = b"".join(archive.read(name) for name in archive.namelist())
            body = raw.decode(errors="replace")
            if not any(canary in body for canary in CANARIES):
                continue
            shown.append(name)
            reads = AuditEntry.objects.exclude(pk__in=before).filter(
                action__in=AuditEntry.DATA_READS, actor=self.alice, team=self.team
            )
            # The IP address is encrypted (issue 15): compared once read.
            if not any(read.ip == "203.0.113.50" for read in reads):
                unaudited.append(f"{name} ({url})")
        return shown, unaudited

    def test_every_page_that_shows_amazon_data_records_the_read(self):
        shown, unaudited = self.unaudited_reads()
        # The walk reached the pages it is about (else it proves nothing).
        self.assertGreaterEqual(len(shown), 10, shown)
        self.assertIn("privacy:export_download", shown)  # the ZIP's files are read
        self.assertEqual(unaudited, [])

    def test_the_walk_finds_a_page_that_forgets_to_audit(self):
        # The control: with the products page's audit call gone, the walk names it.
        from unittest import mock

        with mock.patch("cvrtracker.amazon.views.audit_record"):
            _, unaudited = self.unaudited_reads()
        self.assertTrue(any(u.startswith("amazon:settings") for u in unaudited), unaudited)
        self.assertTrue(any(u.startswith("amazon:products") for u in unaudited), unaudited)
