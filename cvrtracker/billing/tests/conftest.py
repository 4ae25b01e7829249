import pytest

from cvrtracker.billing.testing import FakeStripe

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"


@pytest.fixture
def stripe_server(settings):
    """A Stripe-shaped server on loopback, with billing configured to use it."""
    server = FakeStripe().start()
    # Pro is configured by lookup key, Starter by price id: both forms are supported.
    server.add_price("price_pro_2026", lookup_key="pro_monthly")
    settings.STRIPE_API_BASE = server.base_url
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_PRICE_STARTER = "price_starter"
    settings.STRIPE_PRICE_PRO = "pro_monthly"
    settings.STRIPE_REDIRECT_ORIGINS = [server.base_url]
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.BILLING_ENFORCED = True
    server.webhook_secret = WEBHOOK_SECRET
    yield server
    server.stop()
