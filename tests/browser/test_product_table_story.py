"""A seller sorts the product table by conversion, searches it, downloads it and finds the
page's numbers in the file, then opens it on a phone: only the table scrolls sideways."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from cvrtracker.dashboard.tests.table_data import NOW, make_seller
from cvrtracker.lib import clock
from cvrtracker.test import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def shown_asins(page) -> list[str]:
    return page.locator("tbody tr[data-asin]").evaluate_all("rows => rows.map(r => r.dataset.asin)")


def cell(page, asin: str, col: str) -> str:
    return page.locator(f'tr[data-asin="{asin}"] td[data-col="{col}"]').inner_text().strip()


def test_a_seller_sorts_searches_and_exports_the_product_table(page):
    with clock.following(lambda: NOW):
        user = make_user("mara@example.com")
        make_seller(user.membership.team, user)

        page.goto("/accounts/login/")
        page.get_by_label("Email").fill("mara@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto("/dashboard/products/?show=all")
        expect(page.get_by_role("heading", name="Products")).to_be_visible()
        # Largest units first by default: the kettle sold the most.
        assert shown_asins(page)[0] == "B0AAAAAAA1"

        # Sorting by conversion puts the best converter first, unknown rates last.
        page.locator("th a[data-sort=conversion]").click()
        expect(page.locator("th[aria-sort=descending] a[data-sort=conversion]")).to_be_visible()
        expect(page).to_have_url(re.compile(r"sort=-conversion"))
        assert shown_asins(page) == [
            "B0AAAAAAA1",
            "B0DDDDDDD4",
            "B0EEEEEEE5",
            "B0BBBBBBB2",
            "B0CCCCCCC3",
            "",
        ]
        page.locator("th a[data-sort=conversion]").click()
        expect(page.locator("th[aria-sort=ascending] a[data-sort=conversion]")).to_be_visible()
        assert shown_asins(page)[0] == "B0BBBBBBB2"

        # Searching narrows the rows to the product whose title matches.
        page.get_by_label("Search").fill("mug")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("tbody tr[data-asin]")).to_have_count(1)
        assert shown_asins(page) == ["B0BBBBBBB2"]
        page.get_by_label("Search").fill("")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("tbody tr[data-asin]")).to_have_count(6)

        # The download holds the page's rows, in its order, with its numbers.
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV").click()
        text = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["ASIN"] for r in rows] == shown_asins(page)
        for row in rows:
            asin = row["ASIN"]
            assert cell(page, asin, "sessions") == row["Sessions"]
            assert cell(page, asin, "units") == row["Units ordered"]
            shown = cell(page, asin, "conversion")
            exported = row["Conversion (%)"]
            assert (float(exported) if exported else None) == (
                float(shown.rstrip("%")) if shown != "—" else None
            )
        assert rows[0]["ASIN"] == "B0BBBBBBB2" and float(rows[0]["Conversion (%)"]) == 2.0

        # On a phone, only the table's own box scrolls sideways.
        page.set_viewport_size({"width": 390, "height": 800})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        wrap = page.locator(".product-table-wrap")
        assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
