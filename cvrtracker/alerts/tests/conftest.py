import pytest

from cvrtracker.billing.tests.conftest import stripe_server  # noqa: F401


@pytest.fixture(autouse=True)
def _loopback_receivers(settings):
    # The tests' HTTP receivers listen on 127.0.0.1; test_outbound turns this off
    # to prove the refusals.
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
