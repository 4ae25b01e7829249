"""A seller opens a product's change history from the products page, reads what changed
inside a bullet, sees the new main image, then looks at the account's recent changes."""

import re
import zlib
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from cvrtracker.lib import clock
from cvrtracker.listings.tests.history_helpers import Field, Source, seller_with_products, store
from cvrtracker.test import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)

DAY = clock.today() - timedelta(days=3)


def _png() -> bytes:
    """A 1×1 PNG, served in place of Amazon's image host (the network here is closed)."""

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


def test_a_seller_reads_what_changed_on_a_listing(page):
    user = make_user("lena@example.com")
    connection, kettle, mug = seller_with_products(user.membership.team, "A1LENA")
    store(
        connection,
        listing=kettle,
        field=Field.BULLET,
        position=2,
        day=DAY,
        before="Keeps tea hot for 6 hours.",
        after="Keeps tea hot for 12 hours.",
    )
    store(
        connection,
        listing=kettle,
        field=Field.TITLE,
        day=DAY,
        before="Blue Kettle",
        after="Blue Kettle <script>alert(1)</script>",
    )
    store(
        connection,
        listing=kettle,
        field=Field.MAIN_IMAGE,
        day=DAY,
        action="changed",
        before="https://m.media-amazon.com/images/I/old1.jpg",
        after="https://m.media-amazon.com/images/I/new2.jpg",
    )
    store(
        connection,
        asin="B0KETTLE01",
        field=Field.PRICE,
        source=Source.INFERRED,
        day=DAY - timedelta(40),
        action="changed",
        before={"amount": "20.00", "currency": "USD"},
        after={"amount": "22.00", "currency": "USD"},
        pct=10.0,
    )
    # Enough changes of the mug for the account's page to need a second page.
    for n in range(50):
        store(
            connection,
            listing=mug,
            field=Field.MFN_STOCK,
            day=DAY - timedelta(n + 1),
            action="back_in_stock",
            before=0,
            after=n + 1,
        )
    page.route(
        "https://m.media-amazon.com/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=_png()),
    )

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("lena@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/amazon/{connection.code}/products/")
    page.get_by_role("row", name=re.compile("KET-US")).get_by_role(
        "link", name="Change history"
    ).click()

    expect(page.get_by_role("heading", name="Changes of B0KETTLE01")).to_be_visible()
    bullet = page.locator("li.change", has_text="Bullet point 2")
    expect(bullet.locator(".diff del")).to_have_text("6")
    expect(bullet.locator(".diff ins")).to_have_text("12")
    expect(page.get_by_text("Blue Kettle <script>alert(1)</script>")).to_be_visible()
    new_image = page.get_by_role("img", name="After image: new2.jpg")
    expect(new_image).to_be_visible()
    assert new_image.evaluate("img => img.naturalWidth") == 1
    expect(page.locator(".badge-inferred").last).to_be_visible()
    expect(page.get_by_text("20.00 USD → 22.00 USD (+10.00%)")).to_be_visible()

    page.get_by_role("link", name="All recent changes of this account").click()
    expect(page.get_by_role("heading", name=re.compile("Recent changes of"))).to_be_visible()
    expect(page.locator("li.change")).to_have_count(50)
    page.get_by_role("link", name="Older changes →").click()
    # htmx appends the next page in place: the same address, four more changes.
    expect(page.locator("li.change")).to_have_count(54)
    expect(page).to_have_url(re.compile(rf"/amazon/{connection.code}/changes/$"))

    page.get_by_label("Field").select_option("title")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("li.change")).to_have_count(1)
    expect(page.locator("li.change")).to_contain_text("Blue Kettle <script>")

    page.get_by_role("link", name="Changes", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/amazon/{connection.code}/changes/$"))
