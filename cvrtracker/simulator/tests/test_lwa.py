"""Login with Amazon: the token endpoint and its three grants."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from cvrtracker.simulator.testing import SimClient, running_simulator

from .conftest import advance
from .test_consent import confirm_consent

INVALID_REFRESH = (
    "The request has an invalid grant parameter : refresh_token. "
    "User may have revoked or didn't grant the permission."
)


def test_it_exchanges_a_consent_code_for_tokens(client, seller):
    callback = confirm_consent(client, seller.id, state="s1")
    code = parse_qs(urlparse(callback).query)["spapi_oauth_code"][0]
    answer = client.token(grant_type="authorization_code", code=code)
    assert answer.status == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|")
    assert body["refresh_token"].startswith("Atzr|")
    participations = client.get("/sellers/v1/marketplaceParticipations", token=body["access_token"])
    assert participations.status == 200


def test_it_rejects_a_reused_code(client, seller):
    code = parse_qs(urlparse(confirm_consent(client, seller.id)).query)["spapi_oauth_code"][0]
    assert client.token(grant_type="authorization_code", code=code).status == 200
    again = client.token(grant_type="authorization_code", code=code)
    assert again.status == 400
    assert again.json() == {
        "error_description": "The request has an invalid grant parameter : code",
        "error": "invalid_grant",
    }


def test_it_rejects_an_expired_code(client, seller):
    code = parse_qs(urlparse(confirm_consent(client, seller.id)).query)["spapi_oauth_code"][0]
    advance(client, seconds=301)
    answer = client.token(grant_type="authorization_code", code=code)
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_grant"


def test_it_rejects_a_code_for_another_redirect_uri(client, seller):
    code = parse_qs(urlparse(confirm_consent(client, seller.id)).query)["spapi_oauth_code"][0]
    answer = client.token(
        grant_type="authorization_code", code=code, redirect_uri="http://127.0.0.1:9/x"
    )
    assert answer.json()["error"] == "invalid_grant"


def test_it_rejects_wrong_client_credentials(client, seller):
    refresh = client.refresh_token(seller.id)
    answer = client.token(
        grant_type="refresh_token", refresh_token=refresh, client_secret="not-the-secret"
    )
    assert answer.status == 401
    assert answer.json() == {
        "error_description": "Client authentication failed",
        "error": "invalid_client",
    }


def test_it_refreshes_without_a_new_refresh_token(client, seller):
    answer = client.token(grant_type="refresh_token", refresh_token=client.refresh_token(seller.id))
    assert answer.status == 200
    assert set(answer.json()) == {"access_token", "token_type", "expires_in"}


def test_it_refuses_refresh_after_revocation(client, seller):
    refresh = client.refresh_token(seller.id)
    assert client.post(f"/_sim/sellers/{seller.id}/revoke").json()["revoked"] == 1
    answer = client.token(grant_type="refresh_token", refresh_token=refresh)
    assert answer.status == 400
    assert answer.json() == {"error_description": INVALID_REFRESH, "error": "invalid_grant"}


def test_it_gives_grantless_tokens_that_open_no_seller_data(client):
    answer = client.token(grant_type="client_credentials", scope="sellingpartnerapi::notifications")
    assert answer.status == 200
    assert answer.json()["scope"] == "sellingpartnerapi::notifications"
    refused = client.get(
        "/sellers/v1/marketplaceParticipations", token=answer.json()["access_token"]
    )
    assert refused.status == 403


def test_it_names_a_missing_parameter(client):
    answer = client.token(grant_type="authorization_code")
    assert answer.status == 400
    assert answer.json() == {
        "error_description": "The request is missing a required parameter : code",
        "error": "invalid_request",
    }


def test_it_rejects_an_unknown_grant_type(client):
    assert client.token(grant_type="password").json()["error"] == "unsupported_grant_type"


def test_refresh_grants_outlive_a_restart_when_kept_in_a_file(tmp_path):
    store = tmp_path / "grants.json"
    with running_simulator(grants_file=store) as first:
        seller_id = first.world.sellers[0].id
        kept = SimClient(first).refresh_token(seller_id)
        other = SimClient(first).refresh_token(seller_id)
    assert store.stat().st_mode & 0o777 == 0o600  # the simulator's tokens are secrets too
    with running_simulator(grants_file=store) as second:
        client = SimClient(second)
        assert client.token(grant_type="refresh_token", refresh_token=kept).status == 200
        # Both refresh tokens were kept, and revoking them is kept too.
        assert client.post(f"/_sim/sellers/{seller_id}/revoke").json()["revoked"] == 2
    with running_simulator(grants_file=store) as third:
        answer = SimClient(third).token(grant_type="refresh_token", refresh_token=other)
        assert answer.status == 400 and answer.json()["error"] == "invalid_grant"


def test_without_a_file_grants_end_with_the_simulator(client, seller):
    refresh = client.refresh_token(seller.id)
    with running_simulator() as fresh:
        answer = SimClient(fresh).token(grant_type="refresh_token", refresh_token=refresh)
        assert answer.status == 400


def test_its_repr_shows_no_client_secret_or_token(client, server, seller):
    refresh = client.refresh_token(seller.id)
    access = client.token(grant_type="refresh_token", refresh_token=refresh).json()["access_token"]
    shown = repr(server.sim.grants)
    assert server.sim.app.client_secret not in shown
    assert refresh not in shown
    assert access not in shown


def test_both_secrets_work_during_a_rotation_and_only_the_new_one_after(client, seller):
    refresh = client.refresh_token(seller.id)
    old = client.server.sim.app.client_secret
    rotated = client.post("/_sim/app/client-secret/rotate", json_body={"clientSecret": "new-one"})
    assert rotated.json() == {"clientSecret": "new-one", "previousSecretValid": True}
    # Refresh tokens are tied to the client id, not the secret (LWA Credentials FAQ).
    for secret in (old, "new-one"):
        answer = client.token(
            grant_type="refresh_token", refresh_token=refresh, client_secret=secret
        )
        assert answer.status == 200
    client.post("/_sim/app/client-secret/expire-previous")
    refused = client.token(grant_type="refresh_token", refresh_token=refresh, client_secret=old)
    assert refused.status == 401
    assert refused.json()["error"] == "invalid_client"
    fine = client.token(grant_type="refresh_token", refresh_token=refresh, client_secret="new-one")
    assert fine.status == 200


def test_a_rotation_without_a_chosen_secret_makes_one_up(client, server):
    old = server.sim.app.client_secret
    new = client.post("/_sim/app/client-secret/rotate").json()["clientSecret"]
    assert new and new != old
    assert server.sim.app.previous_client_secret == old
    assert old not in repr(server.sim.app) and new not in repr(server.sim.app)
