"""A seller opens a product's page: the conversion chart is drawn with a marker per listing
change, the keyboard reaches a marker and reads what changed, pressing it lands on the
change and its measured impact, the daily figures download as shown, and a phone's
390 px screen never scrolls sideways."""

import csv
import io
import re
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cvrtracker.dashboard.tests.product_helpers import (
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
from cvrtracker.listings.models import ListingChange
from cvrtracker.test import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)
Field = ListingChange.Field


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x0b\x6e\x4f"))
        + chunk(b"IEND", b"")
    )


CANVAS_INK = """() => {
  const canvas = document.querySelector('#product-chart canvas');
  const ctx = canvas.getContext('2d');
  const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) ink++;
  return ink;
}"""


def test_a_seller_reads_a_change_on_the_conversion_chart(page):
    user = make_user("maya@example.com")
    connection = connect(user.membership.team)
    _, end = store_days(connection)
    listing = admit(connection)
    set_content(
        listing, {"title": "Blue Kettle 1.7 l", "images": [{"variant": "MAIN", "link": IMAGE}]}
    )
    title = change(
        connection,
        field=Field.TITLE,
        day=end - timedelta(days=30),
        before="Kettle",
        after="Blue Kettle",
        listing=listing,
    )
    change(
        connection,
        field=Field.STOCK_OUT,
        day=end - timedelta(days=12),
        action="out_of_stock",
        before=4,
        after=0,
        source=ListingChange.Source.DERIVED,
    )
    impact(title)
    page.route(
        "https://m.media-amazon.test/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=_png()),
    )

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("maya@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/dashboard/products/{connection.code}/{US}/{ASIN}/?period=90")
    expect(page.get_by_role("heading", level=1)).to_have_text("Blue Kettle 1.7 l")

    # The chart is drawn, with one marker per change.
    expect(page.locator("#product-chart canvas")).to_be_visible()
    assert page.evaluate(CANVAS_INK) > 500
    markers = page.locator(".chart-marker")
    expect(markers).to_have_count(2)

    # Sessions join the chart on their own axis when asked for.
    sessions = page.locator(".u-legend .u-series").nth(2)
    expect(sessions).to_have_class(re.compile("u-off"))
    page.get_by_role("checkbox", name="Sessions").check()
    expect(sessions).not_to_have_class(re.compile("u-off"))

    # The keyboard reaches the first marker right after "Reset zoom", and reads it.
    page.locator("#chart-reset").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.dataset.change")
    assert focused == str(title.code)
    expect(page.locator("#marker-tip")).to_contain_text("Title: Kettle → Blue Kettle")

    # Pressing it moves to the change in the list, with its impact.
    page.keyboard.press("Enter")
    target = page.locator(f"#change-{title.code}")
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()
    assert page.url.endswith(f"#change-{title.code}")
    expect(page.get_by_text("+25.0% (95% interval +10.0% to +42.0%)")).to_be_visible()

    # The daily figures download with the numbers of the table below the chart.
    page.get_by_text("The chart's numbers as a table").click()
    shown = page.locator(".chart-table tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))"
    )
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").first.click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert len(rows) == len(shown) == 60
    for row, cells in zip(rows, shown, strict=True):
        assert row[0] == cells[0]
        assert (row[1] or "—") == cells[1]  # sessions; pending days have none
        assert row[3] == cells[2] and row[4] == cells[3]
        assert (f"{float(row[6]):.2f}%" if row[6] else "—") == cells[4]

    # On a phone nothing scrolls sideways, and the chart fits its box.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator(".chart-marker")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    width = page.evaluate("document.querySelector('#product-chart .uplot').offsetWidth")
    assert width <= page.evaluate("document.getElementById('product-chart').clientWidth")
