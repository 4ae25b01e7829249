"""Every outbound client refuses TLS below 1.2, a certificate that does not verify and
a certificate for another name (issue 13, point 4), and each one is built by
lib/tls.py.

Four loopback servers: TLS 1.1 only (with a trusted certificate), a self-signed
certificate, a trusted certificate for another name, and a good one. A lax client
reaches each bad server first (the control: the server really is weak in that way),
and every consumer reaches the good one (the refusals are not a broken setup).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import warnings
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from cvrtracker.lib import tls

SERVERS = ("tls1.1", "self-signed", "wrong-name")


class _Answer(BaseHTTPRequestHandler):
    def _reply(self) -> None:
        body = json.dumps({"id": "cus_tls", "object": "customer", "epoch": 1.0}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply  # noqa: N815 - http.server's names

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serving(kind: str, trusted: trustme.CA):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if kind == "tls1.1":
        context.set_ciphers("DEFAULT@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        trusted.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    elif kind == "self-signed":
        trustme.CA().issue_cert("localhost", "127.0.0.1").configure_cert(context)
    elif kind == "wrong-name":
        trusted.issue_cert("other.example").configure_cert(context)
    else:
        trusted.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def lax_handshake(url: str, ca_file: str) -> str:
    """The control: a client that accepts TLS 1.0+ and any certificate gets through."""
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    port = int(url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as conn,
    ):
        return conn.version()


@pytest.fixture
def ca(tmp_path, settings):
    authority = trustme.CA()
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    tls.tls_context.cache_clear()
    yield authority, str(path)
    tls.tls_context.cache_clear()


def call_amazon(url: str, ca_file: str, settings) -> None:
    from cvrtracker.amazon import client

    client._http.cache_clear()
    settings.AMAZON_CA_FILE = ca_file
    try:
        client.http().get(f"{url}/ping").raise_for_status()
    finally:
        client._http.cache_clear()


def call_webhook(url: str, ca_file: str, settings) -> None:
    from cvrtracker.alerts import outbound

    settings.ALERTS_CA_FILE = ca_file
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = True
    outbound.post(f"{url}/hook", body=b"{}", headers={"Content-Type": "application/json"})


def call_stripe(url: str, ca_file: str, settings) -> None:
    from cvrtracker.billing.stripe import stripe_client

    settings.STRIPE_SECRET_KEY = "sk_test_tls"
    settings.STRIPE_API_BASE = url
    settings.STRIPE_CA_FILE = ca_file
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    assert stripe_client().customers.retrieve("cus_tls").id == "cus_tls"


def call_clock(url: str, ca_file: str, settings) -> None:
    from cvrtracker.lib import clock

    clock._clients.clear()
    try:
        clock._client(ca_file).get(f"{url}/_sim/clock").raise_for_status()
    finally:
        clock._clients.clear()


CONSUMERS = {
    "sp-api": call_amazon,
    "webhook": call_webhook,
    "stripe": call_stripe,
    "simulator clock": call_clock,
}


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_each_consumer_reaches_a_good_server(consumer, ca, settings):
    authority, ca_file = ca
    with serving("good", authority) as url:
        CONSUMERS[consumer](url, ca_file, settings)


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("consumer", CONSUMERS)
def test_each_consumer_refuses_each_weak_server(consumer, server, ca, settings):
    authority, ca_file = ca
    with serving(server, authority) as url:
        version = lax_handshake(url, ca_file)
        if server == "tls1.1":
            assert version == "TLSv1.1"
        with pytest.raises(Exception) as refused:  # noqa: B017 - each client has its own
            CONSUMERS[consumer](url, ca_file, settings)
    text = f"{type(refused.value).__name__} {refused.value} {refused.value.__cause__}"
    assert "AssertionError" not in text


def test_the_context_is_tls_1_2_and_verifying():
    context = tls.tls_context("")
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_an_sdk_asking_not_to_verify_still_verifies(ca):
    """requests_session ignores verify=False: our context decides."""
    import requests

    authority, ca_file = ca
    with serving("self-signed", authority) as url, pytest.raises(requests.exceptions.SSLError):
        tls.requests_session(ca_file=ca_file).get(url, verify=False, timeout=5)
    with serving("good", authority) as url:
        assert tls.requests_session(ca_file=ca_file).get(url, timeout=5).status_code == 200
