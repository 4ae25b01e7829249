"""The alerts history and the link of each alert to its product page."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from cvrtracker.alerts.models import Alert, AlertRule, Delivery
from cvrtracker.alerts.selectors import HISTORY_PAGE_SIZE
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.audit.models import AuditEntry
from cvrtracker.test import BaseTestCase

from .pages_helpers import CA, US, alert, member_email, seller, webhook

HISTORY = reverse("alerts:history")
Kind = AlertRule.Kind


class HistoryTests(BaseTestCase):
    def setUp(self):
        self.client.force_login(self.alice)
        self.connection = seller(self.team)

    def reads(self) -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(action=AuditEntry.Action.ALERTS_READ))

    def test_it_shows_each_alert_with_its_product_and_deliveries(self):
        inbox, hook = member_email(self.alice), webhook(self.alice)
        row = alert(
            self.connection,
            deliveries=((inbox, Delivery.Status.SENT), (hook, Delivery.Status.PENDING)),
        )
        Delivery.objects.filter(channel=hook).update(
            attempts=2,
            last_error="The receiver answered 503",
            next_attempt_at=row.created_at + timedelta(minutes=5),
        )
        self.client.force_login(self.bob)
        response = self.client.get(HISTORY)
        self.assertContains(response, "Garlic press, stainless")
        self.assertContains(response, "B0PAGES001")
        self.assertContains(response, "US")
        self.assertContains(response, "Nov 20, 2026")
        self.assertContains(response, "Before")
        self.assertContains(response, "Sent to 2 channels")
        self.assertContains(response, "The receiver answered 503")
        self.assertContains(response, "2 attempts")
        self.assertContains(response, "next attempt")
        product = reverse("dashboard:product", args=[self.connection.code, US, "B0PAGES001"])
        self.assertContains(response, product)

    def test_every_view_is_audited(self):
        alert(self.connection)
        self.client.get(HISTORY)
        self.client.get(HISTORY, {"page": 2})
        entries = self.reads()
        self.assertEqual([e.actor for e in entries], [self.alice, self.alice])
        self.assertEqual({e.team for e in entries}, {self.team})

    def test_newest_first_and_paginated(self):
        for n in range(HISTORY_PAGE_SIZE + 2):
            alert(
                self.connection, payload={"title": f"Product {n:02d}", "summary": f"Event {n:02d}"}
            )
        first = self.client.get(HISTORY)
        body = first.content.decode()
        self.assertLess(body.index("Event 26"), body.index("Event 25"))
        self.assertNotContains(first, "Event 01")
        self.assertContains(first, "Page 1 of 2")
        second = self.client.get(HISTORY, {"page": 2})
        self.assertContains(second, "Event 01")
        self.assertContains(second, "Event 00")
        self.assertContains(second, "← Newer")
        # A page past the end shows the last one; a page that is not a number, the first.
        self.assertContains(self.client.get(HISTORY, {"page": 99}), "Page 2 of 2")
        self.assertContains(self.client.get(HISTORY, {"page": "x"}), "Page 1 of 2")

    def test_it_filters_by_kind(self):
        alert(self.connection, kind=Kind.LOW_STOCK, payload={"summary": "Running low"})
        alert(self.connection, kind=Kind.PRICE_CHANGED, payload={"summary": "Price up"})
        response = self.client.get(HISTORY, {"kind": Kind.LOW_STOCK})
        self.assertContains(response, "Running low")
        self.assertNotContains(response, "Price up")
        self.assertContains(
            self.client.get(HISTORY, {"kind": Kind.DIGEST}), "No alert of this kind"
        )

    def test_an_unknown_kind_is_a_clear_error(self):
        response = self.client.get(HISTORY, {"kind": "telepathy"})
        self.assertContains(response, "Choose one of the kinds offered.", status_code=400)
        self.assertEqual(self.reads(), [])

    def test_before_any_alert_it_says_nothing_is_sent_until_switched_on(self):
        self.assertContains(self.client.get(HISTORY), "Nothing is sent until you")

    def test_another_teams_alerts_are_not_shown(self):
        theirs = seller(self.charlies_team, "A1CHARLIE", asin="B0CHARLIE1")
        alert(theirs, asin="B0CHARLIE1", payload={"summary": "Charlie's secret"})
        response = self.client.get(HISTORY)
        self.assertNotContains(response, "Charlie")
        self.assertNotContains(response, "B0CHARLIE1")

    def test_an_alert_of_a_destroyed_key_is_not_listed(self):
        # Issue 12: a destroyed key means a stopped account whose alerts are being
        # purged (they were listed without their details before).
        row = alert(self.connection)
        SellerConnection.objects.filter(pk=self.connection.pk).update(wrapped_data_key=None)
        response = self.client.get(HISTORY)
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "B0PAGES001")
        self.assertNotContains(response, "Garlic press")
        self.assertEqual(self.client.get(f"/alerts/{row.code}/").status_code, 404)


class AlertDetailTests(BaseTestCase):
    def setUp(self):
        self.client.force_login(self.alice)
        self.connection = seller(self.team)

    def test_it_opens_the_product_page_around_its_day(self):
        row = alert(self.connection, day=date(2026, 11, 20))
        response = self.client.get(reverse("alerts:alert", args=[row.code]))
        self.assertEqual(response.status_code, 302)
        url = urlsplit(response["Location"])
        self.assertEqual(
            url.path, reverse("dashboard:product", args=[self.connection.code, US, "B0PAGES001"])
        )
        query = parse_qs(url.query)
        self.assertEqual(query["period"], ["custom"])
        self.assertEqual(query["start"], ["2026-11-06"])
        self.assertEqual(query["end"], ["2026-12-04"])
        [entry] = AuditEntry.objects.filter(action=AuditEntry.Action.ALERTS_READ)
        self.assertEqual((entry.target_type, entry.target_code), ("alert", str(row.code)))

    def test_the_product_page_opens_at_the_link(self):
        from cvrtracker.dashboard.tests import product_helpers as product

        connection = product.connect(self.team, "A1PRODUCT")
        first, last = product.store_days(connection)
        product.admit(connection)
        row = alert(connection, asin=product.ASIN, day=last - timedelta(days=20))
        response = self.client.get(reverse("alerts:alert", args=[row.code]), follow=True)
        self.assertEqual(response.status_code, 200)
        period = response.context["period"]
        self.assertEqual(period.start, row.day - timedelta(days=14))
        self.assertEqual(period.end, row.day + timedelta(days=14))

    def test_it_shows_the_alert_when_its_marketplace_has_no_product_page(self):
        from cvrtracker.dashboard.tests import product_helpers as product
        from cvrtracker.listings.services import listings_admit

        connection = product.connect(self.team, "A1PRODUCT")
        connection.marketplaces = [{"id": US}, {"id": CA}]
        connection.save()
        product.store_days(connection)  # days in the US only
        item = {"sku": "KET-CA", "summaries": [{"marketplaceId": CA, "asin": product.ASIN}]}
        listings_admit(connection=connection, marketplace_id=CA, items=[item])
        row = alert(connection, asin=product.ASIN, marketplace_id=CA)
        response = self.client.get(reverse("alerts:alert", args=[row.code]))
        self.assertContains(response, "has no page any more")

    def test_it_shows_the_alert_when_the_product_is_gone(self):
        row = alert(self.connection, asin="B0GONE0001")
        response = self.client.get(reverse("alerts:alert", args=[row.code]))
        self.assertContains(response, "has no page any more")
        self.assertContains(response, "Garlic press, stainless")
        self.assertNotContains(response, "Open the product")

    def test_a_digest_is_shown_here(self):
        row = alert(self.connection, kind=Kind.DIGEST, asin="", payload={"summary": "Your digest"})
        response = self.client.get(reverse("alerts:alert", args=[row.code]))
        self.assertContains(response, "Your digest")

    def test_another_teams_alert_is_404(self):
        theirs = seller(self.charlies_team, "A1CHARLIE")
        row = alert(theirs)
        self.assertEqual(self.client.get(reverse("alerts:alert", args=[row.code])).status_code, 404)
        self.assertFalse(AuditEntry.objects.filter(action=AuditEntry.Action.ALERTS_READ).exists())

    def test_the_history_outlives_a_deleted_rule(self):
        rule = AlertRule.objects.create(team=self.team, kind=Kind.PRICE_CHANGED, params={"pct": 5})
        row = alert(self.connection, rule=rule, kind=Kind.PRICE_CHANGED)
        rule.delete()
        self.assertTrue(Alert.objects.filter(pk=row.pk, rule=None).exists())
        self.assertContains(self.client.get(reverse("alerts:history")), "Price changed")
