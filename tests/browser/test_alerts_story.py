"""A seller adds an email channel and a webhook, writes a price alert (the form changes
with the kind), switches it on, and later reads in the history what was sent where;
on a 390 px phone none of these pages scrolls sideways."""

import pytest
from playwright.sync_api import expect

from cvrtracker.alerts.models import AlertRule, Delivery
from cvrtracker.alerts.tests.pages_helpers import alert, seller
from cvrtracker.test import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = 390


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/**")


def test_a_seller_sets_up_an_alert_and_reads_what_it_sent(page):
    owner = make_user("rosa.lindqvist-okonkwo@example-kitchenware.com")
    connection = seller(owner.membership.team, "A1ROSA")
    log_in(page, owner)

    # Settings → Alerts from the settings menu.
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("complementary", name="Settings").get_by_role("link", name="Alerts").click()
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()

    # An email channel to herself: active at once, no confirmation needed.
    page.get_by_role("button", name="Add an email address").click()
    page.get_by_label("Name").fill("My inbox")
    page.get_by_role("button", name="Add channel").click()
    expect(page.get_by_text("Channel “My inbox” added.")).to_be_visible()
    expect(page.get_by_text("Active", exact=True)).to_be_visible()

    # A webhook: its page shows the signing secret and the snippet, with Copy buttons.
    page.get_by_role("button", name="Add a webhook").click()
    page.get_by_label("Name").fill("Warehouse system")
    page.get_by_label("Webhook URL").fill("https://hooks.example-kitchenware.com/cvr/alerts")
    page.get_by_role("button", name="Add channel").click()
    expect(page.get_by_role("heading", name="Signing secret")).to_be_visible()
    expect(page.locator("#webhook-secret")).to_contain_text("whsec_")
    expect(page.get_by_role("button", name="Copy").first).to_be_visible()
    page.get_by_role("link", name="← Alerts").click()

    # A new alert: choosing "Price changed" swaps in its own setting (htmx, no reload).
    page.get_by_role("button", name="New alert").click()
    expect(page.get_by_label("Title")).to_be_visible()
    page.get_by_label("What should we tell you about?").select_option("price_changed")
    pct = page.get_by_label("Tell me when the price moves by more than (%)")
    expect(pct).to_be_visible()
    expect(page.get_by_label("Title")).to_have_count(0)
    pct.fill("7.5")
    page.get_by_label("My inbox (Email)").check()
    page.get_by_label("Warehouse system (Webhook)").check()
    page.get_by_role("button", name="Add alert").click()
    expect(page.get_by_text("It is off: switch it on")).to_be_visible()
    expect(page.get_by_text("Price moves by more than 7.5%")).to_be_visible()
    expect(page.get_by_text("Off: sends nothing")).to_be_visible()

    # Switched on: who and when are shown.
    page.get_by_role("button", name="Switch on").click()
    expect(page.get_by_text("switched on by Rosa.Lindqvist-Okonkwo")).to_be_visible()
    rule = AlertRule.objects.get(team=owner.membership.team)
    assert rule.enabled and rule.opted_in_by == owner

    # Later an alert is raised and sent (the evaluation and the worker, stood in for).
    inbox, hook = (s.channel for s in rule.subscriptions.order_by("channel__created_at"))
    alert(
        connection,
        rule=rule,
        kind=AlertRule.Kind.PRICE_CHANGED,
        asin="B0PAGES001",
        payload={
            "title": "Garlic press, stainless",
            "summary": "Garlic press, stainless: the price moved 12% (19.99 → 22.39 USD)",
            "before": "19.99 USD",
            "after": "22.39 USD",
        },
        deliveries=((inbox, Delivery.Status.SENT), (hook, Delivery.Status.PENDING)),
    )
    Delivery.objects.filter(channel=hook).update(attempts=1, last_error="The receiver answered 503")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    expect(page.get_by_role("heading", name="Alerts history")).to_be_visible()
    expect(page.get_by_text("the price moved 12%")).to_be_visible()
    page.get_by_text("Sent to 2 channels").click()
    expect(page.get_by_text("The receiver answered 503")).to_be_visible()
    link = page.get_by_role("link", name="Open the product at Nov 20")
    assert "/dashboard/products/" in link.get_attribute("href")


def test_the_alert_pages_fit_a_phone(browser, live_server):
    owner = make_user("maximilian.vandersloot-ramaswamy@example-outdoor-supplies.com")
    team = owner.membership.team
    connection = seller(team, "A1MAXIMILIAN")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": WIDTH, "height": 844}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        log_in(page, owner)
        page.goto("/settings/alerts/channels/new/?kind=webhook")
        page.get_by_label("Name").fill("A webhook with a rather long name for a phone screen")
        page.get_by_label("Webhook URL").fill(
            "https://a-very-long-subdomain-name.example-outdoor-supplies.com/hooks/cvr-tracker/alerts"
        )
        page.get_by_role("button", name="Add channel").click()
        page.get_by_role("heading", name="Signing secret").wait_for()
        widths = {"webhook page": scroll_width(page)}
        hook_url = page.url

        page.goto("/settings/alerts/rules/new/?kind=listing_changed")
        widths["new alert"] = scroll_width(page)
        page.get_by_label("Title").check()
        page.get_by_label("Chosen products").check()
        page.get_by_label("Seller account and marketplace").select_option(
            label="A1MAXIMILIAN (North America): US"
        )
        page.get_by_label("ASINs").fill("B0PAGES001 B0PAGES002 B0PAGES003 B0PAGES004")
        page.get_by_role("button", name="Add alert").click()
        page.get_by_role("button", name="Switch on").click()
        page.get_by_text("switched on by").wait_for()
        widths["settings"] = scroll_width(page)

        rule = AlertRule.objects.get(team=team)
        alert(
            connection,
            rule=rule,
            payload={
                "title": "Ultralight two-person backpacking tent with a very long product title "
                "that Amazon sellers love, waterproof, 3 season, aluminium poles",
                "before": "Ultralight-two-person-backpacking-tent-with-a-very-long-unbroken-word",
                "after": "Ultralight two-person backpacking tent, waterproof",
            },
        )
        page.goto("/alerts/")
        page.get_by_text("Sent to 0 channels").wait_for()
        widths["history"] = scroll_width(page)
        page.goto(hook_url + "delete/")
        widths["remove confirmation"] = scroll_width(page)

        assert widths == {path: w for path, w in widths.items() if w <= WIDTH}, widths
        assert errors == [], errors
    finally:
        context.close()
