"""x-amz-access-token on every SP-API call, answered with Amazon's 403 bodies."""

from __future__ import annotations

import uuid

from cvrtracker.simulator.specs import operations

from .conftest import advance


def _details(answer) -> str:
    assert answer.status == 403
    # Every model lists x-amzn-RequestId on its 403 answers (SDKs read it into the error).
    uuid.UUID(answer.headers["x-amzn-RequestId"])
    (error,) = answer.json()["errors"]
    assert error["code"] == "Unauthorized"
    assert error["message"] == "Access to requested resource is denied."
    return error["details"]


def test_it_rejects_a_missing_token(client):
    answer = client.get("/sellers/v1/marketplaceParticipations")
    assert _details(answer) == "Access token is missing in the request header."
    assert "x-amzn-RateLimit-Limit" not in answer.headers


def test_it_rejects_an_invalid_token(client):
    answer = client.get("/reports/2021-06-30/reports/1", token="Atza|made-up")
    assert _details(answer) == "The access token you provided is revoked, malformed or invalid."


def test_it_rejects_an_expired_token(client, token):
    assert client.get("/sellers/v1/marketplaceParticipations", token=token).status == 200
    advance(client, seconds=3600)
    answer = client.get("/sellers/v1/marketplaceParticipations", token=token)
    assert _details(answer) == "The access token you provided has expired."


def test_it_rejects_tokens_of_a_revoked_grant(client, seller, token):
    client.post(f"/_sim/sellers/{seller.id}/revoke")
    answer = client.get("/sellers/v1/marketplaceParticipations", token=token)
    assert "revoked" in _details(answer)


def test_it_tolerates_unknown_query_parameters(client, token):
    answer = client.get(
        "/sellers/v1/marketplaceParticipations",
        token=token,
        params={"MarketplaceId": "ATVPDKIKX0DER", "marketplace_ids": "x", "whatever": "1"},
    )
    assert answer.status == 200


def test_it_refuses_another_sellers_listings(client, token):
    answer = client.get(
        "/listings/2021-08-01/items/A3OTHERSELLER00",
        token=token,
        params={"marketplaceIds": "ATVPDKIKX0DER"},
    )
    _details(answer)


def test_every_model_lists_the_request_id_on_its_403():
    for op in operations().values():
        assert "x-amzn-RequestId" in op.spec["responses"]["403"]["headers"], op.operation_id


def test_each_403_has_its_own_request_id(client):
    first = client.get("/sellers/v1/marketplaceParticipations")
    second = client.get("/sellers/v1/marketplaceParticipations")
    assert first.headers["x-amzn-RequestId"] != second.headers["x-amzn-RequestId"]
