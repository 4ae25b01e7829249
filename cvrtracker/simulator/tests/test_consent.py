"""The Seller Central consent page at /apps/authorize/consent."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from urllib.parse import parse_qs, urlparse

from django.conf import settings as django_settings

from cvrtracker.simulator.testing import SimClient, running_simulator

APP_ID = "amzn1.sp.solution.simulator"
CALLBACK = "http://127.0.0.1:8000/amazon/callback/"


def confirm_consent(
    client: SimClient, seller_id: str, state: str = "xyz", redirect_uri: str = CALLBACK
) -> str:
    """Open the consent page, press Confirm, and return the redirect Location."""
    page = client.get(
        "/apps/authorize/consent",
        params={
            "application_id": APP_ID,
            "state": state,
            "version": "beta",
            "redirect_uri": redirect_uri,
        },
    )
    assert page.status == 200
    token = re.search(r"name=.consent_token. value=.([^'\"]+)", page.body.decode()).group(1)
    answer = client.post(
        "/apps/authorize/consent",
        form={"consent_token": token, "selling_partner_id": seller_id, "decision": "confirm"},
    )
    assert answer.status == 302
    return answer.headers["Location"]


def test_it_shows_the_app_and_a_confirm_button(client):
    page = client.get(
        "/apps/authorize/consent",
        params={"application_id": APP_ID, "state": "s", "version": "beta"},
    )
    html = page.body.decode()
    assert APP_ID in html
    assert "Confirm" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_it_redirects_with_state_seller_and_code(client, seller):
    location = confirm_consent(client, seller.id, state="abc123")
    assert location.startswith(CALLBACK + "?")
    query = parse_qs(urlparse(location).query)
    assert query["state"] == ["abc123"]
    assert query["selling_partner_id"] == [seller.id]
    assert query["spapi_oauth_code"][0]


def test_it_answers_md1000_for_a_draft_app_without_beta(client):
    page = client.get("/apps/authorize/consent", params={"application_id": APP_ID, "state": "s"})
    assert page.status == 400
    assert "MD1000" in page.body.decode()


def test_it_answers_md5101_for_an_unregistered_redirect_uri(client):
    page = client.get(
        "/apps/authorize/consent",
        params={
            "application_id": APP_ID,
            "state": "s",
            "version": "beta",
            "redirect_uri": "https://evil.example/callback",
        },
    )
    assert page.status == 400
    assert "MD5101" in page.body.decode()


def test_it_uses_the_first_registered_uri_when_none_is_given(client, seller):
    page = client.get(
        "/apps/authorize/consent",
        params={"application_id": APP_ID, "state": "s", "version": "beta"},
    )
    token = re.search(r"name=.consent_token. value=.([^'\"]+)", page.body.decode()).group(1)
    answer = client.post(
        "/apps/authorize/consent",
        form={"consent_token": token, "selling_partner_id": seller.id, "decision": "confirm"},
    )
    assert answer.headers["Location"].startswith(CALLBACK)


def test_it_refuses_a_forged_confirm(client, seller):
    answer = client.post(
        "/apps/authorize/consent",
        form={"consent_token": "forged", "selling_partner_id": seller.id, "decision": "confirm"},
    )
    assert answer.status == 400
    assert "Location" not in answer.headers


def test_cancel_grants_nothing(client, seller):
    page = client.get(
        "/apps/authorize/consent",
        params={"application_id": APP_ID, "state": "s", "version": "beta"},
    )
    token = re.search(r"name=.consent_token. value=.([^'\"]+)", page.body.decode()).group(1)
    answer = client.post(
        "/apps/authorize/consent",
        form={"consent_token": token, "selling_partner_id": seller.id, "decision": "cancel"},
    )
    assert answer.status == 200
    assert "Location" not in answer.headers
    # Rendered as a paragraph, not shown as escaped markup.
    assert "<p>The application got no access.</p>" in answer.body.decode()
    assert "&lt;" not in answer.body.decode()


def test_error_pages_render_their_text_as_paragraphs(client, seller):
    unknown_app = client.get("/apps/authorize/consent", params={"application_id": "other"})
    expired = client.post(
        "/apps/authorize/consent",
        form={"consent_token": "forged", "selling_partner_id": seller.id, "decision": "confirm"},
    )
    for answer in (unknown_app, expired):
        assert answer.status == 400
        html = answer.body.decode()
        assert "&lt;p&gt;" not in html
        assert re.search(r"<p>[A-Z][^<]+\.</p>", html)


def test_the_log_in_uri_hop_ends_with_a_code(server, seller):
    from dataclasses import replace

    server.sim.app = replace(server.sim.app, login_uri="http://127.0.0.1:8000/amazon/login/")
    client = SimClient(server)
    page = client.get(
        "/apps/authorize/consent",
        params={"application_id": APP_ID, "state": "s", "version": "beta"},
    )
    token = re.search(r"name=.consent_token. value=.([^'\"]+)", page.body.decode()).group(1)
    hop = client.post(
        "/apps/authorize/consent",
        form={"consent_token": token, "selling_partner_id": seller.id, "decision": "confirm"},
    )
    assert hop.headers["Location"].startswith("http://127.0.0.1:8000/amazon/login/?")
    query = parse_qs(urlparse(hop.headers["Location"]).query)
    assert query["selling_partner_id"] == [seller.id]
    assert query["amazon_callback_uri"] == [server.base_url + "/apps/authorize/confirm"]
    back = client.get(
        "/apps/authorize/confirm",
        params={
            "amazon_state": query["amazon_state"][0],
            "state": "app-state",
            "redirect_uri": CALLBACK,
        },
    )
    final = parse_qs(urlparse(back.headers["Location"]).query)
    assert final["state"] == ["app-state"]
    assert final["spapi_oauth_code"][0]
    forged = client.get("/apps/authorize/confirm", params={"amazon_state": "x", "state": "s"})
    assert forged.status == 400


def test_it_accepts_the_running_sites_callback_on_its_port(settings):
    # PORT=9000 make run: the site sends AMAZON_REDIRECT_URI on port 9000 (settings follow
    # PORT); the simulator's app must list it, as 127.0.0.1 and as localhost.
    settings.AMAZON_REDIRECT_URI = "http://127.0.0.1:9000/amazon/callback/"
    with running_simulator() as server:
        client = SimClient(server)
        seller = server.world.sellers[0]
        for callback in (
            "http://127.0.0.1:9000/amazon/callback/",
            "http://localhost:9000/amazon/callback/",
            CALLBACK,
        ):
            location = confirm_consent(client, seller.id, redirect_uri=callback)
            assert location.startswith(callback + "?")
        refused = client.get(
            "/apps/authorize/consent",
            params={
                "application_id": APP_ID,
                "version": "beta",
                "redirect_uri": "http://127.0.0.1:9001/amazon/callback/",
            },
        )
        assert "MD5101" in refused.body.decode()


def test_the_amazonsim_command_takes_the_port_of_make_run(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_ROOT", "AMAZON_REDIRECT_URI")}
    env.update(PORT="9000", SIM_CA_DIR=str(tmp_path / "ca"))
    env.pop("SIM_REDIRECT_URIS", None)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "amazonsim", "--port", "0", "--asins", "5", "--plain-http"],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = re.search(r"(http://127\.0\.0\.1:\d+)", process.stdout.readline()).group(1)
        with urllib.request.urlopen(url + "/_sim/", timeout=10) as answer:  # noqa: S310 - loopback
            uris = json.load(answer)["app"]["redirectUris"]
        assert "http://127.0.0.1:9000/amazon/callback/" in uris
        assert "http://localhost:9000/amazon/callback/" in uris
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
