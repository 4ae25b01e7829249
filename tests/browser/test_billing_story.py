"""A seller whose trial ends tomorrow upgrades: Checkout (a Stripe-shaped fake),
back to CVR Tracker, and the plan turns active once Stripe's webhook arrives."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cvrtracker.accounts.models import Team
from cvrtracker.billing.models import Subscription
from cvrtracker.billing.testing import FakeStripe
from cvrtracker.test import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake_stripe(settings, live_server):
    server = FakeStripe().start()
    server.webhook_url = f"{live_server.url}/billing/webhook/"
    server.webhook_secret = "whsec_browser_story"
    # Stripe's webhook comes a moment after the buyer is back on our site.
    server.webhook_delay = 1.5
    settings.STRIPE_API_BASE = server.base_url
    settings.STRIPE_SECRET_KEY = "sk_test_browser"
    settings.STRIPE_WEBHOOK_SECRET = server.webhook_secret
    settings.STRIPE_PRICE_STARTER = "price_starter"
    settings.STRIPE_PRICE_PRO = "price_pro"
    settings.STRIPE_REDIRECT_ORIGINS = [server.base_url]
    settings.BILLING_ENFORCED = True
    yield server
    server.stop()


def test_a_seller_upgrades_and_the_plan_turns_active_after_the_webhook(page, fake_stripe):
    user = make_user("maya@example.com")
    Team.objects.filter(pk=user.membership.team_id).update(
        created_at=timezone.now() - timedelta(days=13, hours=1)
    )

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("maya@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Your free trial ends in 1 day.")).to_be_visible()

    page.get_by_role("link", name="Choose a plan").click()
    expect(page.get_by_role("heading", name="Billing")).to_be_visible()
    page.get_by_role("button", name="Upgrade to Starter").click()

    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    page.get_by_role("button", name="Subscribe").click()

    expect(page).to_have_url(re.compile(r"/billing/return/\?session_id=cs_test_"))
    expect(page.get_by_text("Stripe is confirming your payment")).to_be_visible()
    assert not Subscription.objects.get(team__memberships__user=user).on_stripe

    # The page asks the server until the webhook has been applied, then shows billing.
    expect(page).to_have_url(re.compile(r"/billing/$"))
    expect(page.locator("#billing-status")).to_contain_text("Starter")
    expect(page.locator("#billing-status")).to_contain_text("Active")
    expect(page.get_by_role("button", name="Manage billing")).to_be_visible()
    expect(page.get_by_text("Your free trial ends in")).to_have_count(0)
