"""Several sellers: the access token alone says whose data a call sees."""

from __future__ import annotations

from cvrtracker.simulator.testing import SimClient, running_simulator

from .conftest import MARKET


def test_each_token_sees_only_its_own_seller():
    with running_simulator(sellers=2, asins=10) as sim:
        client = SimClient(sim)
        first, second = sim.world.sellers
        assert first.id != second.id
        assert {p.asin for p in first.products}.isdisjoint(p.asin for p in second.products)
        token_a = client.access_token(first.id)
        token_b = client.access_token(second.id)
        report_id = client.post(
            "/reports/2021-06-30/reports",
            token=token_a,
            json_body={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [MARKET]},
        ).json()["reportId"]
        assert client.get(f"/reports/2021-06-30/reports/{report_id}", token=token_a).status == 200
        assert client.get(f"/reports/2021-06-30/reports/{report_id}", token=token_b).status == 404
        store = client.get("/sellers/v1/marketplaceParticipations", token=token_b).json()
        assert store["payload"][0]["storeName"] == second.store_name


def test_revoking_one_seller_leaves_the_other_alone():
    with running_simulator(sellers=2, asins=5) as sim:
        client = SimClient(sim)
        first, second = sim.world.sellers
        token_a, token_b = client.access_token(first.id), client.access_token(second.id)
        client.post(f"/_sim/sellers/{first.id}/revoke")
        assert client.get("/sellers/v1/marketplaceParticipations", token=token_a).status == 403
        assert client.get("/sellers/v1/marketplaceParticipations", token=token_b).status == 200
