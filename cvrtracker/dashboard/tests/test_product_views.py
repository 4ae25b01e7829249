"""The product page, its audit, and the downloads of its series and changes."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from django.urls import reverse
from openpyxl import load_workbook

from cvrtracker.audit.models import AuditEntry
from cvrtracker.listings.models import ListingChange
from cvrtracker.listings.tests.helpers import PlanTestCase
from cvrtracker.test import BaseTestCase

from .product_helpers import (
    ASIN,
    IMAGE,
    US,
    admit,
    change,
    connect,
    impact,
    set_content,
    store_days,
)

Field = ListingChange.Field
Source = ListingChange.Source


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))


def xlsx_rows(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(body(response)), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


class ProductViewTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.connection = connect(cls.team)
        cls.start, cls.end = store_days(cls.connection)
        cls.listing = admit(cls.connection)

    def setUp(self):
        super().setUp()
        self.url = reverse("dashboard:product", args=[self.connection.code, US, ASIN])

    def export_url(self, name: str, fmt: str) -> str:
        return reverse(f"dashboard:{name}", args=[self.connection.code, US, ASIN, fmt])


class PageTests(ProductViewTestCase):
    def test_it_shows_the_product_with_its_figures_and_audits_the_read(self):
        set_content(
            self.listing,
            {"title": "Blue Kettle 1.7 l", "images": [{"variant": "MAIN", "link": IMAGE}]},
        )
        self.client.force_login(self.bob)
        response = self.client.get(self.url, {"period": "30"})
        self.assertContains(response, "Blue Kettle 1.7 l")
        self.assertContains(response, f'src="{IMAGE}"')
        self.assertContains(response, "KET-US")
        page = response.context["page"]
        self.assertContains(response, f"<dd>{page.figures.sessions}</dd>", html=True)
        self.assertContains(response, "Conversion = units ordered ÷ sessions")
        self.assertContains(response, 'id="product-chart-data"')
        self.assertNotContains(response, "style=")
        entry = AuditEntry.objects.get(action=AuditEntry.Action.PRODUCT_READ)
        assert (entry.actor, entry.team) == (self.bob, self.team)

    def test_the_chart_data_lists_markers_and_the_change_list_has_their_anchors(self):
        title = change(
            self.connection,
            field=Field.TITLE,
            day=self.end - timedelta(days=3),
            before="Kettle",
            after="Blue Kettle",
            listing=self.listing,
        )
        impact(title)
        self.client.force_login(self.alice)
        response = self.client.get(self.url)
        html = response.content.decode()
        script = html.split('id="product-chart-data" type="application/json">')[1]
        data = json.loads(script.split("</script>")[0])
        assert [m["id"] for m in data["markers"]] == [str(title.code)]
        assert data["markers"][0]["text"] == "Title: Kettle → Blue Kettle"
        self.assertContains(response, f'id="change-{title.code}"')
        self.assertContains(response, "Improved")
        self.assertContains(response, "+25.0% (95% interval +10.0% to +42.0%)")
        self.assertContains(response, "about 39 units a month")

    def test_impact_so_far_and_not_enough_data_say_so(self):
        a = change(
            self.connection,
            field=Field.TITLE,
            day=self.end - timedelta(days=5),
            before="a",
            after="b",
            listing=self.listing,
        )
        b = change(
            self.connection,
            field=Field.DESCRIPTION,
            day=self.end - timedelta(days=2),
            before="a",
            after="b",
            listing=self.listing,
        )
        impact(a, final=False)
        stored = impact(b, verdict="not_enough_data", final=False)
        self.client.force_login(self.alice)
        response = self.client.get(self.url)
        self.assertContains(response, "Impact so far: Improved")
        ready = f"{stored.ready_on:%-d %b %Y}"
        self.assertContains(response, f"Not enough data yet — verdict on {ready}")

    def test_changes_without_impact_say_why(self):
        change(
            self.connection,
            field=Field.TITLE,
            day=self.end - timedelta(days=5),
            before="a",
            after="b",
            listing=self.listing,
        )
        change(
            self.connection,
            field=Field.BUY_BOX,
            day=self.end - timedelta(days=4),
            action="lost",
            before=90,
            after=10,
            source=Source.DERIVED,
        )
        self.client.force_login(self.alice)
        response = self.client.get(self.url)
        self.assertContains(response, "Impact not computed yet.")
        self.assertContains(response, "Impact not measured for this kind of change.")

    def test_an_untracked_product_says_its_history_is_not_recorded(self):
        self.listing.tracking = self.listing.Tracking.STOPPED
        self.listing.save()
        self.client.force_login(self.alice)
        response = self.client.get(self.url)
        self.assertContains(
            response, "listing history (title, images, price… changes) is not recorded"
        )
        self.assertContains(response, reverse("amazon:products", args=[self.connection.code]))

    def test_a_bad_period_is_a_400_that_says_why(self):
        self.client.force_login(self.alice)
        response = self.client.get(self.url, {"period": "12"})
        self.assertContains(response, "Choose one of the periods offered.", status_code=400)

    def test_outsiders_and_unknown_products_get_404(self):
        self.client.force_login(self.charlie)
        assert self.client.get(self.url).status_code == 404
        assert self.client.get(self.export_url("product_series_export", "csv")).status_code == 404
        assert self.client.get(self.export_url("product_changes_export", "csv")).status_code == 404
        self.client.force_login(self.alice)
        for args in ([US, "B0NOTHERE1"], [US, "not-an-asin"], ["A1F83G8C2ARO7P", ASIN]):
            url = reverse("dashboard:product", args=[self.connection.code, *args])
            assert self.client.get(url).status_code == 404, args
        assert not AuditEntry.objects.filter(action=AuditEntry.Action.PRODUCT_READ).exists()


class SeriesExportTests(ProductViewTestCase):
    def test_the_csv_holds_the_numbers_the_page_shows(self):
        self.client.force_login(self.alice)
        page = self.client.get(self.url, {"period": "30"}).context["page"]
        rows = csv_rows(
            self.client.get(self.export_url("product_series_export", "csv"), {"period": "30"})
        )
        assert rows[0][:4] == ["Day", "Sessions", "Page views", "Units ordered"]
        assert len(rows) - 1 == len(page.series) == 30
        for row, day in zip(rows[1:], page.series, strict=True):
            assert row[0] == day.day.isoformat()
            assert row[1] == ("" if day.sessions is None else str(day.sessions))
            assert int(row[3]) == day.units
            assert row[4] == str(day.revenue)
            expected = "" if day.conversion is None else str(round(100 * day.conversion, 2))
            assert row[6] == expected
            assert row[8] == ("pending" if day.pending else "")
        assert sum(int(r[3]) for r in rows[1:]) == page.figures.units
        assert AuditEntry.objects.filter(action=AuditEntry.Action.PRODUCT_EXPORTED).count() == 1

    def test_the_xlsx_holds_the_same_numbers(self):
        self.client.force_login(self.alice)
        page = self.client.get(self.url, {"period": "7"}).context["page"]
        rows = xlsx_rows(
            self.client.get(self.export_url("product_series_export", "xlsx"), {"period": "7"})
        )
        assert len(rows) - 1 == 7
        assert [r[3] for r in rows[1:]] == [d.units for d in page.series]
        assert [r[1] for r in rows[1:]] == [d.sessions for d in page.series]
        assert sum(float(r[4]) for r in rows[1:]) == float(sum(d.revenue for d in page.series))

    def test_an_unknown_format_is_404(self):
        self.client.force_login(self.alice)
        assert self.client.get(self.export_url("product_series_export", "pdf")).status_code == 404


class ChangesExportTests(ProductViewTestCase):
    def setUp(self):
        super().setUp()
        self.title = change(
            self.connection,
            field=Field.TITLE,
            day=self.end - timedelta(days=5),
            before="Kettle",
            after="Blue Kettle",
            listing=self.listing,
        )
        self.bullet = change(
            self.connection,
            field=Field.BULLET,
            day=self.end - timedelta(days=2),
            position=2,
            before="=cmd|' /C calc'!A0",
            after="Boils fast",
            listing=self.listing,
        )
        impact(self.title)

    def test_the_product_pages_changes_export_with_their_impact(self):
        self.client.force_login(self.alice)
        rows = csv_rows(self.client.get(self.export_url("product_changes_export", "csv")))
        header, *data = rows
        assert header[:9] == [
            "Day",
            "Marketplace",
            "ASIN",
            "SKU",
            "Field",
            "Position",
            "Action",
            "Before",
            "After",
        ]
        assert [r[4] for r in data] == ["Bullet point", "Title"]  # newest first, as listed
        bullet, title = data
        assert bullet[5] == "2" and bullet[7] == "'=cmd|' /C calc'!A0"  # no formula runs
        assert title[7:9] == ["Kettle", "Blue Kettle"]
        assert title[11:16] == ["Improved", "yes", "25.0", "10.0", "42.0"]
        assert bullet[11] == ""
        assert AuditEntry.objects.filter(action=AuditEntry.Action.CHANGES_EXPORTED).count() == 1

    def test_the_account_and_listing_history_exports_follow_the_pages_filters(self):
        self.client.force_login(self.bob)
        url = reverse("dashboard:account_changes_export", args=[self.connection.code, "xlsx"])
        rows = xlsx_rows(self.client.get(url, {"field": "title"}))
        assert [r[4] for r in rows[1:]] == ["Title"]
        assert rows[1][13] == 25.0
        url = reverse("dashboard:listing_changes_export", args=[self.listing.code, "csv"])
        assert len(csv_rows(self.client.get(url))) == 3
        response = self.client.get(url, {"field": "nonsense"})
        assert response.status_code == 400

    def test_outsiders_cannot_export_an_accounts_changes(self):
        self.client.force_login(self.charlie)
        for name, code in (
            ("account_changes_export", self.connection.code),
            ("listing_changes_export", self.listing.code),
        ):
            assert (
                self.client.get(reverse(f"dashboard:{name}", args=[code, "csv"])).status_code == 404
            )


class PlanHistoryTests(PlanTestCase):
    def test_the_plans_history_depth_clamps_the_range_and_says_so(self):
        self.put_on_starter()
        connection = connect(self.team)
        store_days(connection)
        admit(connection)
        self.client.force_login(self.alice)
        url = reverse("dashboard:product", args=[connection.code, US, ASIN])
        response = self.client.get(url, {"period": "365"})
        period = response.context["period"]
        assert period.clamped and period.start == response.context["scope"].history_start
        assert len(response.context["chart"]["x"]) == period.days < 365
        self.assertContains(response, "Your plan shows")
        self.assertContains(response, reverse("billing:page"))


class HistoryPageLinkTests(ProductViewTestCase):
    def test_the_history_pages_link_their_download_with_the_filters(self):
        self.client.force_login(self.alice)
        url = reverse("listings:account_changes", args=[self.connection.code])
        export = reverse("dashboard:account_changes_export", args=[self.connection.code, "csv"])
        self.assertContains(self.client.get(url, {"field": "title"}), f"{export}?field=title")
        url = reverse("listings:product_changes", args=[self.listing.code])
        export = reverse("dashboard:listing_changes_export", args=[self.listing.code, "xlsx"])
        self.assertContains(self.client.get(url), f"{export}?")
