from __future__ import annotations

from collections.abc import Iterator

import pytest

from cvrtracker.simulator.reports import SALES_AND_TRAFFIC
from cvrtracker.simulator.server import SimulatorServer
from cvrtracker.simulator.testing import ManualClock, SimClient, running_simulator
from cvrtracker.simulator.world import Seller

MARKET = "ATVPDKIKX0DER"


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    """Quotas on a manual clock: tests step past the Sales & Traffic interval, never sleep."""
    with running_simulator(asins=20, monotonic=ManualClock()) as sim:
        yield sim


@pytest.fixture
def client(server: SimulatorServer) -> SimClient:
    """Validates every SP-API answer against the official model (see testing.SimClient)."""
    return SimClient(server)


@pytest.fixture
def seller(server: SimulatorServer) -> Seller:
    return server.world.sellers[0]


@pytest.fixture
def token(client: SimClient, seller: Seller) -> str:
    return client.access_token(seller.id)


def advance(client: SimClient, **amount: float) -> dict:
    return client.post("/_sim/clock", json_body=amount).json()


def next_st_slot(server: SimulatorServer) -> None:
    """Move the quota clock on by one Sales & Traffic interval, so one more request passes."""
    limiter = server.sim.limiter
    limiter.monotonic.advance(limiter.report_budgets[SALES_AND_TRAFFIC].interval)  # type: ignore[attr-defined]
