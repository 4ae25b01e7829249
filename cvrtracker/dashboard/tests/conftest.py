# The loopback Stripe server of billing's tests: plan changes arrive as signed webhooks.
from cvrtracker.billing.tests.conftest import stripe_server  # noqa: F401
