import ssl

import pytest

from cvrtracker.amazon import client
from cvrtracker.amazon.client import AmazonError, RevokedAuthorization, SpApiClient
from cvrtracker.amazon.ratelimit import limiter_for
from cvrtracker.lib.tls import tls_context
from cvrtracker.simulator.testing import SimClient

pytestmark = pytest.mark.django_db


def sp_client(sim, sim_client, *, tokens: list | None = None) -> SpApiClient:
    """A client holding a real access token of the simulator's first seller."""
    seller_id = sim.world.sellers[0].id
    refresh = sim_client.refresh_token(seller_id)
    issued = tokens if tokens is not None else []

    def access_token(force: bool) -> str:
        if force or not issued:
            issued.append(client.lwa_refresh(refresh_token=refresh).access_token)
        return issued[-1]

    return SpApiClient(region="NA", rate_key=f"test-{seller_id}", access_token=access_token)


def test_every_connection_requires_tls_1_2():
    assert ssl_context_minimum("") == ssl.TLSVersion.TLSv1_2
    assert ssl_context_minimum("/nonexistent") is None


def ssl_context_minimum(ca_file: str):
    try:
        return tls_context(ca_file).minimum_version
    except FileNotFoundError:
        return None


def test_the_simulator_ca_is_trusted_only_when_configured(sim, settings):
    settings.AMAZON_CA_FILE = ""
    with pytest.raises(AmazonError) as caught:
        client.lwa_refresh(refresh_token="Atzr|whatever")
    assert caught.value.permanent
    assert "CERTIFICATE" in str(caught.value.__context__ or "") or caught.value.status is None


def test_it_refreshes_and_calls_the_sp_api(sim, sim_client):
    participations = sp_client(sim, sim_client).get_marketplace_participations()
    assert participations[0]["marketplace"]["id"] == "ATVPDKIKX0DER"
    assert participations[0]["storeName"] == sim.world.sellers[0].store_name


def test_invalid_grant_on_refresh_is_a_permanent_revocation(sim, sim_client):
    seller_id = sim.world.sellers[0].id
    refresh = sim_client.refresh_token(seller_id)
    sim_client.post(f"/_sim/sellers/{seller_id}/revoke")
    with pytest.raises(RevokedAuthorization) as caught:
        client.lwa_refresh(refresh_token=refresh)
    assert caught.value.permanent and caught.value.code == "invalid_grant"
    assert refresh not in str(caught.value)


def test_a_wrong_client_secret_is_permanent_but_not_a_revocation(sim, sim_client, settings):
    settings.LWA_CLIENT_SECRET = "wrong"
    with pytest.raises(AmazonError) as caught:
        client.lwa_refresh(refresh_token=sim_client.refresh_token(sim.world.sellers[0].id))
    assert caught.value.permanent and not isinstance(caught.value, RevokedAuthorization)
    assert caught.value.status == 401 and "wrong" not in str(caught.value)


def test_5xx_bursts_are_retried_until_they_pass(sim, sim_client, settings):
    settings.AMAZON_RETRY_ATTEMPTS = 4
    sp = sp_client(sim, sim_client)
    sim_client.post(
        "/_sim/faults", json_body={"operation": "getMarketplaceParticipations", "error_ratio": 1}
    )
    with pytest.raises(AmazonError) as caught:
        sp.get_marketplace_participations()
    assert not caught.value.permanent and caught.value.status in (500, 503)
    seller_id = sim.world.sellers[0].id
    counted = SimClient(sim).get("/_sim/counters").json()[seller_id]
    assert counted["getMarketplaceParticipations"]["error"] == 4
    sim_client.request("DELETE", "/_sim/faults")
    assert sp.get_marketplace_participations()[0]["marketplace"]["id"] == "ATVPDKIKX0DER"


def test_throttling_is_retried_with_backoff_and_then_reported(sim, sim_client):
    sp = sp_client(sim, sim_client)
    sim_client.post(
        "/_sim/faults",
        json_body={"operation": "getMarketplaceParticipations", "throttle_ratio": 1},
    )
    with pytest.raises(AmazonError) as caught:
        sp.get_marketplace_participations()
    assert caught.value.status == 429 and caught.value.code == "QuotaExceeded"
    assert not caught.value.permanent


def test_timeouts_are_transient(sim, sim_client, settings):
    sp = sp_client(sim, sim_client)
    settings.AMAZON_HTTP_TIMEOUT_SECONDS = 0.2
    settings.AMAZON_RETRY_ATTEMPTS = 2
    sim_client.post(
        "/_sim/faults",
        json_body={"operation": "getMarketplaceParticipations", "latency_ms": 600},
    )
    with pytest.raises(AmazonError, match="in time") as caught:
        sp.get_marketplace_participations()
    assert not caught.value.permanent


def test_an_access_token_expiring_mid_run_is_refreshed_once(sim, sim_client):
    tokens: list[str] = []
    sp = sp_client(sim, sim_client, tokens=tokens)
    sp.get_marketplace_participations()
    # Two simulated hours later the token we hold has expired at Amazon.
    sim_client.post("/_sim/clock", json_body={"hours": 2})
    sp.get_marketplace_participations()
    assert len(tokens) == 2
    counted = SimClient(sim).get("/_sim/counters").json()[sim.world.sellers[0].id]
    assert counted["getMarketplaceParticipations"]["unauthorized"] == 1


def test_it_adopts_the_announced_rate(sim, sim_client, settings):
    settings.AMAZON_RATELIMIT_STORAGE = "memory"
    sp = sp_client(sim, sim_client)
    sp.get_marketplace_participations()
    limiter = limiter_for(sp.rate_key, "getMarketplaceParticipations")
    # The relaxed simulator announces 100 times the model's 0.016/s.
    assert limiter.observed_rate() == pytest.approx(1.6)


def test_the_consent_url_carries_state_and_beta_for_a_draft_app(settings):
    settings.AMAZON_CONSENT_URLS = {"EU": "https://consent.test"}
    settings.AMAZON_APPLICATION_ID = "amzn1.sp.solution.x"
    settings.AMAZON_APP_IS_DRAFT = True
    url = client.consent_url(region="EU", state="abc")
    assert url.startswith("https://consent.test/apps/authorize/consent?")
    assert "state=abc" in url and "version=beta" in url and "application_id=amzn1" in url
    settings.AMAZON_APP_IS_DRAFT = False
    assert "version=beta" not in client.consent_url(region="EU", state="abc")
