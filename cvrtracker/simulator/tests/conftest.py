from __future__ import annotations

from collections.abc import Iterator

import pytest

from cvrtracker.simulator.server import SimulatorServer
from cvrtracker.simulator.testing import SimClient, running_simulator
from cvrtracker.simulator.world import Seller

MARKET = "ATVPDKIKX0DER"


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    with running_simulator(asins=20) as sim:
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
