"""The data export's content: the store's metrics and the rest, decrypted, of the
requester's team only, without credentials."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from cvrtracker.accounts.models import UserSession
from cvrtracker.alerts.tests.helpers import make_alert, make_rule
from cvrtracker.api.tests.helpers import END, START, seller_with_listings
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record
from cvrtracker.lib.crypto import key_provider
from cvrtracker.metrics.models import Order
from cvrtracker.metrics.orders import order_data, orders_upsert
from cvrtracker.metrics.selectors import metrics_account_series, metrics_product_table
from cvrtracker.metrics.tests.helpers import MARKET, sim_payloads
from cvrtracker.privacy.models import DataExport, UsageEvent
from cvrtracker.test import BaseTestCase

from .helpers import ExportsDirMixin, all_text, csv_rows, json_rows

REFRESH = "Atzr|CANARYREFRESHTOKEN"


class ExportContentTests(ExportsDirMixin, BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.connection, cls.rows, cls.listing, cls.change = seller_with_listings(
            cls.team, cls.alice, seller_id="A1ALICE", store_name="Alice Outdoor"
        )
        cls.connection.refresh_token_enc = cls.connection.seal("refresh_token", REFRESH)
        cls.connection.save()
        seller_with_listings(
            cls.charlies_team, cls.charlie, seller_id="A2CHARLIE", store_name="Charlie Home"
        )
        orders_upsert(connection=cls.connection, orders=sim_payloads()["orders"])
        cls.alert = make_alert(make_rule(cls.team), cls.connection)
        UsageEvent.objects.create(
            user=cls.alice, method="GET", path="/dashboard/", ip="198.51.100.1"
        )
        UsageEvent.objects.create(user=cls.bob, method="GET", path="/bobs-page/", ip="198.51.100.2")
        UserSession.objects.create(user=cls.alice, session_key="s" * 32, ip="198.51.100.1")
        audit_record(
            action=AuditEntry.Action.SESSIONS_ENDED,
            context=AuditContext(actor=cls.alice, ip="203.0.113.9", user_agent="AliceBrowser"),
        )

    def setUp(self):
        super().setUp()
        self.export = self.build(self.alice)
        self.archive = self.unzip(self.export, self.alice)

    def test_it_is_ready_with_a_random_file_name_and_its_size(self):
        self.assertEqual(self.export.status, DataExport.Status.READY)
        self.assertEqual(self.export.progress, 100)
        self.assertRegex(self.export.file_name, r"^[0-9a-f]{32}\.sealed$")
        self.assertEqual(self.files(), [self.export.file_name])
        self.assertGreater(self.export.size_bytes, 1000)

    def test_the_file_at_rest_is_encrypted_under_a_key_of_its_own(self):
        raw = (Path(self.exports_dir) / self.export.file_name).read_bytes()
        self.assertFalse(zipfile.is_zipfile(Path(self.exports_dir) / self.export.file_name))
        self.assertNotIn(b"PK\x03\x04", raw)
        self.assertNotIn(b"metrics/daily", raw)
        key = key_provider().unwrap(
            bytes(self.export.wrapped_key), context=self.export.key_context()
        )
        self.assertEqual(len(key), 32)

    def test_it_holds_the_stores_daily_metrics_decrypted(self):
        days = metrics_account_series(
            connection=self.connection, marketplace_id=MARKET, start=START, end=END
        )
        rows = [r for r in csv_rows(self.archive, "metrics/daily") if r["granularity"] == "account"]
        by_day = {r["day"]: r for r in rows}
        self.assertGreaterEqual(len(days), 6)
        self.assertEqual(set(by_day), {d.day.isoformat() for d in days})
        for day in days:
            row = by_day[day.day.isoformat()]
            self.assertEqual(int(row["units_ordered"]), day.units_ordered)
            self.assertEqual(row["currency"], day.ordered_product_sales.currency)
            self.assertEqual(
                round(float(row["ordered_product_sales"]) * 100),
                day.ordered_product_sales.amount_minor,
            )
            self.assertEqual(row["pending"], str(day.pending))
            if not day.pending:
                self.assertEqual(int(row["sessions"]), day.sessions)

    def test_each_products_days_add_up_to_its_totals(self):
        daily = json_rows(self.archive, "metrics/daily")
        for product in metrics_product_table(
            connection=self.connection, marketplace_id=MARKET, start=START, end=END, limit=3
        ):
            units = sum(r["units_ordered"] for r in daily if r["asin"] == product.asin)
            self.assertEqual(units, product.units_ordered, product.asin)
            self.assertGreater(units, 0)

    def test_it_holds_listings_changes_orders_and_alerts_decrypted(self):
        listings = json_rows(self.archive, "listings/listings")
        self.assertEqual(
            sorted(r["title"] for r in listings), ["Product 0", "Product 1", "Product 2"]
        )
        changes = json_rows(self.archive, "listings/changes")
        self.assertIn(str(self.change.code), [c["code"] for c in changes])
        self.assertIn("18.00", str([c["change"] for c in changes]))
        orders = json_rows(self.archive, "metrics/orders")
        self.assertEqual(len(orders), Order.objects.filter(connection=self.connection).count())
        self.assertGreater(len(orders), 0)
        first = Order.objects.filter(connection=self.connection).order_by("created_time", "pk")[0]
        self.assertEqual(
            orders[0]["order"]["order_id"],
            order_data(connection=self.connection, order=first)["order_id"],
        )
        self.assertTrue(json_rows(self.archive, "metrics/order_items"))
        alerts = json_rows(self.archive, "alerts/alerts")
        self.assertEqual(alerts[0]["alert"]["after"], "Garlic press, stainless")
        accounts = json_rows(self.archive, "amazon/seller_accounts")
        self.assertEqual([a["store_name"] for a in accounts], ["Alice Outdoor"])

    def test_it_holds_the_requesters_usage_sessions_and_audit_entries(self):
        self.assertEqual(
            [u["path"] for u in json_rows(self.archive, "account/usage")], ["/dashboard/"]
        )
        self.assertEqual(len(json_rows(self.archive, "account/sessions")), 1)
        entries = json_rows(self.archive, "team/audit_entries")
        ended = [e for e in entries if e["action"] == AuditEntry.Action.SESSIONS_ENDED]
        self.assertEqual(ended[0]["ip"], "203.0.113.9")
        self.assertIn(AuditEntry.Action.DATA_EXPORT_REQUESTED, [e["action"] for e in entries])
        members = json_rows(self.archive, "team/members")
        self.assertEqual(
            sorted(m["email"] for m in members), ["alice@example.org", "bob@example.org"]
        )

    def test_it_holds_nothing_of_another_team(self):
        text = all_text(self.archive)
        for canary in ("Charlie Home", "A2CHARLIE", "charlie@example.org", "/bobs-page/"):
            self.assertNotIn(canary, text)
        codes = {a["seller_account"] for a in json_rows(self.archive, "metrics/daily")}
        self.assertEqual(codes, {str(self.connection.code)})

    def test_it_holds_no_credential(self):
        text = all_text(self.archive)
        self.assertNotIn(REFRESH, text)
        self.assertNotIn(self.alice.password, text)
        self.assertNotIn("s" * 32, text)  # the session key

    def test_a_member_sees_no_other_members_ip_address(self):
        export = self.build(self.bob)
        entries = json_rows(self.unzip(export, self.bob), "team/audit_entries")
        ended = [e for e in entries if e["action"] == AuditEntry.Action.SESSIONS_ENDED]
        self.assertEqual((ended[0]["actor"], ended[0]["ip"]), ("alice@example.org", ""))
        self.assertNotIn("AliceBrowser", str(entries))

    def test_every_table_is_in_both_formats_with_its_readme(self):
        names = set(self.archive.namelist())
        self.assertIn("README.txt", names)
        from cvrtracker.privacy.export_tables import TABLES

        for table in TABLES:
            self.assertIn(f"{table.path}.json", names)
            self.assertIn(f"{table.path}.csv", names)
            self.assertEqual(
                len(json_rows(self.archive, table.path)), len(csv_rows(self.archive, table.path))
            )
        self.assertTrue(
            re.search(r"metrics/daily\.json / \.csv: ", self.archive.read("README.txt").decode())
        )
