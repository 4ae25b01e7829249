"""A seller with two months of data opens the dashboard: the figures are the account's
sums, the daily chart is drawn with its pending days, and a phone-wide screen does not
scroll sideways."""

import re

import pytest
from django.http import QueryDict
from playwright.sync_api import expect

from cvrtracker.dashboard.overview import overview_read
from cvrtracker.dashboard.scope import dashboard_scope_for_user, period_from_query
from cvrtracker.dashboard.tests.helpers import LAST_DAY, NOW, UP, ingest, make_connection
from cvrtracker.lib import clock
from cvrtracker.listings.models import ListingChange
from cvrtracker.listings.tests.history_helpers import store
from cvrtracker.test import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# Counts the chart canvas's pixels that are not blank.
DRAWN_PIXELS = """canvas => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
  return n;
}"""


def test_a_seller_reads_the_overview(page):
    user = make_user("nora@example.com")
    with clock.following(lambda: NOW):
        connection = make_connection(user.membership.team, "A1NORA")
        ingest(connection)
        store(
            connection,
            asin=UP,
            field=ListingChange.Field.PRICE,
            day=LAST_DAY,
            action="changed",
            before={"amount": "20.00", "currency": "USD"},
            after={"amount": "22.00", "currency": "USD"},
            pct=10.0,
        )
        scope = dashboard_scope_for_user(user=user)
        period = period_from_query(scope, QueryDict("period=30"))
        expected = overview_read(scope=scope, period=period).figures

        page.goto("/accounts/login/")
        page.get_by_label("Email").fill("nora@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/dashboard/$"))
        expect(page.get_by_text("Conversion (units ÷ sessions)")).to_be_visible()

        for figure in expected:
            card = page.locator(f"[data-figure={figure.key}]")
            expect(card.locator(".figure-value")).to_have_text(figure.value)
            expect(card.locator(".figure-change")).to_contain_text(figure.change_text)
        expect(page.get_by_text("Traffic up to")).to_contain_text("Wed 25 Nov 2026")
        changes = page.locator(".overview-changes li")
        expect(changes).to_have_count(1)
        expect(changes).to_contain_text("20.00 USD → 22.00 USD (+10.00%)")
        expect(changes.get_by_role("link", name=UP)).to_have_attribute(
            "href", re.compile(rf"/dashboard/products/{connection.code}/ATVPDKIKX0DER/{UP}/")
        )
        movers = page.get_by_role("region", name="Conversion movers")
        expect(movers.get_by_role("link", name=UP)).to_be_visible()
        expect(movers).to_contain_text("+20.0 pts")

        canvas = page.locator("#overview-chart canvas")
        expect(canvas).to_be_visible()
        assert canvas.evaluate(DRAWN_PIXELS) > 1000

        page.get_by_text("The same days as a table").click()
        pending = page.locator("tr.day-pending")
        expect(pending).to_have_count(3)
        expect(pending.first).to_contain_text("pending")

        page.get_by_label("Period").select_option("7")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(r"period=7"))
        expect(page.locator("tr.day-pending")).to_have_count(3)

        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/dashboard/?period=730")
        expect(page.locator("#overview-chart canvas")).to_be_visible()
        page.get_by_text("The same days as a table").click()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the overview is {width}px wide at 390px"
