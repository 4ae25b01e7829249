"""The product table page, its htmx partial and its CSV and XLSX exports."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from unittest import mock

from django.urls import reverse
from openpyxl import load_workbook

from cvrtracker.audit.models import AuditEntry
from cvrtracker.dashboard.table import EXPORT_HEADER
from cvrtracker.lib import clock
from cvrtracker.listings.services import listings_admit
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.quick import QuickTotals
from cvrtracker.test import BaseTestCase

from .table_data import LAST_DAY, NOW, START, US, item, make_seller

URL = reverse("dashboard:products")
NUMBERS = ("sessions", "page_views", "units", "revenue", "conversion", "conversion_change")
# The export's column of each number the page shows.
EXPORT_COLUMN = {
    "sessions": "Sessions",
    "page_views": "Page views",
    "units": "Units ordered",
    "revenue": "Ordered revenue",
    "conversion": "Conversion (%)",
    "conversion_change": "Change in conversion (points)",
}


class TableCells(HTMLParser):
    """{asin: {column: text}} of the rendered table (rows carry data-asin, cells data-col)."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.order: list[str] = []
        self._asin = self._col = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-asin" in attrs:
            self._asin = attrs["data-asin"]
            self.order.append(self._asin)
            self.rows[self._asin] = {}
        elif tag == "td" and self._asin is not None and "data-col" in attrs:
            self._col = attrs["data-col"]
            self.rows[self._asin][self._col] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._col = None
        elif tag == "tr":
            self._asin = None

    def handle_data(self, data):
        if self._asin is not None and self._col is not None:
            self.rows[self._asin][self._col] += data.strip()


def cells(response) -> TableCells:
    parser = TableCells()
    parser.feed(response.content.decode())
    return parser


def number(text: str) -> float | None:
    """A cell's number as the page prints it ("10.00%", "+5.00 pts", "7325.00", "—")."""
    found = re.search(r"[-+]?\d+(\.\d+)?", text.replace(",", ""))
    return float(found.group(0)) if found else None


class ProductsViewTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        with clock.following(lambda: NOW):
            cls.connection = make_seller(cls.team, cls.alice)
            listings_admit(
                connection=cls.connection,
                marketplace_id=US,
                items=[item("EVIL-7", "B0EVIL0007", '=HYPERLINK("http://x.test","Click")')],
            )

    def setUp(self):
        super().setUp()
        pinned = clock.following(lambda: NOW)
        pinned.__enter__()
        self.addCleanup(pinned.__exit__, None, None, None)
        self.client.force_login(self.bob)

    def test_it_requires_login(self):
        self.client.logout()
        self.assertRedirects(self.client.get(URL), f"{reverse('accounts:login')}?next={URL}")

    def test_it_shows_the_tracked_products_with_their_numbers(self):
        response = self.client.get(URL)
        self.assertContains(response, "Blue Kettle")
        self.assertNotContains(response, "Green Teapot")  # not tracked
        kettle = cells(response).rows["B0AAAAAAA1"]
        assert kettle["sessions"] == "2900" and kettle["units"] == "293"
        assert kettle["conversion"] == "10.00%" and kettle["conversion_change"] == "+5.00 pts"
        assert kettle["revenue"] == "7325.00" and kettle["buy_box"] == "90.0%"
        self.assertContains(response, "Conversion is units ÷ sessions")
        self.assertContains(response, "1 day of this period has not arrived")
        product = reverse("dashboard:product", args=[self.connection.code, US, "B0AAAAAAA1"])
        self.assertContains(response, f'href="{product}"')

    def test_untracked_rows_link_to_tracking_them(self):
        response = self.client.get(URL, {"show": "all"})
        self.assertContains(response, "Green Teapot")
        tracking = reverse("amazon:products", args=[self.connection.code])
        self.assertContains(response, f'href="{tracking}?show=untracked">Track it</a>')

    def test_sort_headers_are_links_that_keep_the_query(self):
        response = self.client.get(URL, {"sort": "-conversion_change", "q": "b0", "page": "1"})
        html = response.content.decode()
        assert cells(response).order == ["B0AAAAAAA1", "B0BBBBBBB2", "B0CCCCCCC3", "B0EVIL0007"]
        assert re.search(
            r'<th scope="col" aria-sort="descending" class="num">\s*<a href="[^"]*'
            r"sort=conversion_change",
            html,
        )
        sessions_link = re.search(r'href="([^"]*sort=-sessions[^"]*)"', html).group(1)
        assert "q=b0" in sessions_link and "page=" not in sessions_link

    def test_each_row_has_an_inline_svg_trend_without_style(self):
        html = self.client.get(URL).content.decode()
        assert re.search(
            r'<svg class="sparkline"[^>]*role="img"[^>]*><polyline points="[\d., ]+"/>', html
        )
        assert "style=" not in html

    def test_htmx_gets_the_table_alone(self):
        response = self.client.get(URL, {"sort": "asin"}, headers={"HX-Request": "true"})
        html = response.content.decode()
        assert "<html" not in html and 'class="compact product-table"' in html
        assert "hx-get=" in html
        assert "HX-Request" in response["Vary"]
        restored = self.client.get(
            URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
        )
        assert "<html" in restored.content.decode()

    def test_pages_link_with_every_parameter(self):
        for n in range(60):
            listings_admit(
                connection=self.connection,
                marketplace_id=US,
                items=[item(f"BULK-{n:02d}", f"B1BULK{n:04d}", f"Bulk {n}")],
            )
        response = self.client.get(URL, {"q": "b", "sort": "asin"})
        assert len(cells(response).order) == 50
        html = response.content.decode()
        self.assertContains(response, 'aria-current="page">1<')
        next_link = re.search(r'href="([^"]*)" hx-get="[^"]*" rel="next"', html).group(1)
        assert "q=b" in next_link and "sort=asin" in next_link and "page=2" in next_link
        second = self.client.get(next_link.replace("&amp;", "&"))
        assert len(cells(second).order) == 64 - 50 + 1  # 60 bulk, 4 tracked, 1 evil

    def test_a_bad_period_says_so_and_shows_thirty_days(self):
        response = self.client.get(URL, {"period": "12"})
        self.assertContains(response, "Choose one of the periods offered.")
        self.assertContains(response, "Blue Kettle")

    def test_a_custom_period_compares_with_the_days_just_before(self):
        response = self.client.get(
            URL, {"period": "custom", "start": "2026-06-01", "end": "2026-06-14"}
        )
        self.assertContains(response, "1 Jun 2026 – 14 Jun 2026 against 18 May 2026 – 31 May 2026")
        kettle = cells(response).rows["B0AAAAAAA1"]
        # 13 settled days and the pending one.
        assert (kettle["sessions"], kettle["units"], kettle["conversion"]) == (
            "1300",
            "133",
            "10.00%",
        )
        assert kettle["conversion_change"] == "+0.00 pts"

    def test_a_page_filled_by_the_first_minute_totals_says_where_they_come_from(self):
        MetricBlock.objects.filter(connection=self.connection).update(fetched=[])
        self.assertContains(self.client.get(URL), "No daily figures for this period yet")
        quick = QuickTotals(start=START, end=LAST_DAY, fetched_at=NOW, currency="USD", rows=[])
        with mock.patch("cvrtracker.dashboard.table.metrics_quick_totals", return_value=quick):
            response = self.client.get(URL)
        self.assertContains(response, "from one Sales &amp; Traffic report fetched 15 Jun")

    def test_the_page_view_is_audited(self):
        self.client.get(URL)
        entry = AuditEntry.objects.get(action=AuditEntry.Action.PRODUCTS_READ)
        assert (entry.actor, entry.team, entry.target_code) == (
            self.bob,
            self.team,
            str(self.connection.code),
        )

    def test_an_outsider_gets_a_404_for_our_account(self):
        self.client.force_login(self.charlie)
        response = self.client.get(URL, {"account": str(self.connection.code)})
        assert response.status_code == 404
        export = reverse("dashboard:products_export", args=["csv"])
        assert self.client.get(export, {"account": str(self.connection.code)}).status_code == 404
        assert not AuditEntry.objects.filter(action__startswith="dashboard.").exists()

    def test_an_outsider_sees_no_rows_of_ours(self):
        self.client.force_login(self.charlie)
        response = self.client.get(URL)
        self.assertContains(response, "No Amazon account connected yet")
        self.assertNotContains(response, "Blue Kettle")

    # -- exports ------------------------------------------------------------------------

    def export(self, fmt: str, **query) -> list[dict]:
        response = self.client.get(reverse("dashboard:products_export", args=[fmt]), query)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        body = b"".join(response.streaming_content)
        if fmt == "csv":
            text = body.decode("utf-8-sig")
            return list(csv.DictReader(io.StringIO(text)))
        sheet = load_workbook(io.BytesIO(body), read_only=True).active
        values = list(sheet.iter_rows(values_only=True))
        assert list(values[0]) == list(EXPORT_HEADER)
        return [dict(zip(values[0], row, strict=True)) for row in values[1:]]

    def assert_matches_page(self, exported: list[dict], query: dict) -> None:
        page = cells(self.client.get(URL, query))
        assert [row["ASIN"] or "" for row in exported] == page.order
        for row in exported:
            shown = page.rows[row["ASIN"] or ""]
            for col, header in EXPORT_COLUMN.items():
                value = row[header]
                value = None if value in ("", None) else float(value)
                assert value == number(shown[col]), (row["ASIN"], col, value, shown[col])

    def test_the_csv_export_has_the_pages_rows_and_numbers(self):
        query = {"show": "all", "sort": "-conversion_change"}
        rows = self.export("csv", **query)
        self.assert_matches_page(rows, query)
        assert AuditEntry.objects.filter(action=AuditEntry.Action.PRODUCTS_EXPORTED).count() == 1

    def test_the_xlsx_export_has_the_pages_rows_and_numbers(self):
        query = {"group": "parent", "sort": "-conversion"}
        rows = self.export("xlsx", **query)
        self.assert_matches_page(rows, query)
        assert rows[0]["ASIN"] == "B0PARENT1" and rows[0]["Title"] == "Parent: sum of 2 products"
        assert rows[1]["Title"] == "Blue Kettle" and rows[1]["Stock"] == "In stock"

    def test_the_export_covers_every_page_and_keeps_the_filters(self):
        rows = self.export("csv", q="kettle")
        assert [r["ASIN"] for r in rows] == ["B0AAAAAAA1"]
        rows = self.export("csv", suppressed="1")
        assert [(r["ASIN"], r["Suppressed"]) for r in rows] == [("B0CCCCCCC3", "yes")]

    def test_exported_text_cannot_run_as_a_formula(self):
        for fmt in ("csv", "xlsx"):
            evil = next(r for r in self.export(fmt) if r["ASIN"] == "B0EVIL0007")
            assert evil["Title"].startswith("'=HYPERLINK"), fmt

    def test_the_page_links_to_both_exports_with_its_query(self):
        response = self.client.get(URL, {"q": "mug", "sort": "units"})
        csv_url = reverse("dashboard:products_export", args=["csv"])
        self.assertContains(response, f'href="{csv_url}?q=mug&amp;sort=units"')

    def test_an_unknown_format_is_a_404(self):
        url = reverse("dashboard:products_export", args=["pdf"])
        assert self.client.get(url).status_code == 404
