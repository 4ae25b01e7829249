"""The purge's tests talk to the Amazon simulator on loopback, as the sync's do."""

from __future__ import annotations

import pytest

from cvrtracker.amazon.tests.conftest import synced_simulator


@pytest.fixture
def sync_sim(settings):
    """A synced simulator (amazon/tests/conftest.py) whose seller sells in the US only."""
    with synced_simulator(settings) as server:
        yield server
