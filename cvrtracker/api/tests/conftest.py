"""Plan tests put a team on Starter the way production does: a signed Stripe webhook."""

from cvrtracker.billing.tests.conftest import stripe_server  # noqa: F401 - a pytest fixture
