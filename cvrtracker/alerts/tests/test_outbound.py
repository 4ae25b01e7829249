"""The webhook client refuses every non-public address, after DNS and without redirects."""

import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from cvrtracker.alerts import outbound
from cvrtracker.alerts.tests.helpers import Receiver
from cvrtracker.lib import tls as lib_tls

REFUSED = [
    "http://127.0.0.1/hook",
    "https://127.0.0.1/hook",
    "https://localhost/hook",  # a name that resolves to loopback
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "https://[::ffff:10.0.0.1]/",
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "https://10.1.2.3/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "https://100.64.0.1/",  # carrier-grade NAT
    "https://0.0.0.0/",
    "https://224.0.0.1/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://[fc00::1]/",
    "https://[fe80::1]/",
    "https://[ff02::1]/",
    "https://[::]/",
    "https://2130706433/",  # 127.0.0.1 as one decimal number
]


@pytest.fixture
def strict(settings):
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = False


@pytest.mark.parametrize("url", REFUSED)
def test_it_refuses_private_addresses(strict, url):
    with pytest.raises(outbound.TargetRefused) as refused:
        outbound.post(url, body=b"{}", headers={})
    assert refused.value.permanent
    assert "127.0.0.1" not in str(refused.value)  # the error never repeats the URL


def test_a_name_resolving_to_loopback_is_refused_before_any_connection(strict):
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        with pytest.raises(outbound.TargetRefused):
            outbound.post(f"http://localhost:{port}/hook", body=b"{}", headers={})
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # plain HTTP
        "ftp://example.com/",
        "https://user:pass@example.com/",
        "https:///nohost",
        "https://example.com:99999/",
        "not a url",
    ],
)
def test_it_refuses_urls_it_does_not_accept(strict, url):
    with pytest.raises(outbound.TargetRefused):
        outbound.validate_url_shape(url)


def test_public_addresses_are_allowed(strict):
    for address in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "1.1.1.1"):
        assert outbound.address_allowed(ipaddress.ip_address(address))


def test_a_redirect_to_loopback_is_never_followed(settings):
    # Only the first receiver's address is allowed; it redirects to another
    # loopback receiver, which must never be called.
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = ["127.0.0.1/32"]
    with Receiver() as target, Receiver(redirect="") as first:
        first.redirect = target.url.replace("127.0.0.1", "localhost")
        with pytest.raises(outbound.OutboundError) as failed:
            outbound.post(first.url, body=b"{}", headers={})
        first.redirect = target.url
        with pytest.raises(outbound.OutboundError):
            outbound.post(first.url, body=b"{}", headers={})
    assert failed.value.permanent and failed.value.status == 302
    assert target.requests == []


def test_a_list_of_networks_allows_only_those(settings):
    settings.ALERTS_ALLOW_PRIVATE_TARGETS = ["10.1.2.3/32"]
    assert outbound.address_allowed(ipaddress.ip_address("10.1.2.3"))
    assert not outbound.address_allowed(ipaddress.ip_address("10.1.2.4"))
    assert not outbound.address_allowed(ipaddress.ip_address("127.0.0.1"))


def test_it_posts_to_an_allowed_receiver_and_classifies_answers():
    with Receiver(statuses=[200, 500, 429, 404, 410]) as receiver:
        assert outbound.post(receiver.url, body=b'{"a":1}', headers={}).status == 200
        for status, permanent in ((500, False), (429, False), (404, True), (410, True)):
            with pytest.raises(outbound.OutboundError) as failed:
                outbound.post(receiver.url, body=b"{}", headers={})
            assert (failed.value.status, failed.value.permanent) == (status, permanent)
    assert receiver.requests[0]["body"] == b'{"a":1}'
    assert receiver.requests[0]["headers"]["Host"].startswith("127.0.0.1:")


def test_an_unreachable_receiver_is_a_transient_error():
    with Receiver() as receiver:
        url = receiver.url
    with pytest.raises(outbound.OutboundError) as failed:
        outbound.post(url, body=b"{}", headers={})
    assert not failed.value.permanent


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def _tls_server(ca: trustme.CA, *, maximum=None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if maximum is not None:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = maximum
        context.set_ciphers("DEFAULT@SECLEVEL=0")
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_tls_connects_to_the_checked_address_and_verifies_the_name(settings, tmp_path):
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    settings.ALERTS_CA_FILE = str(tmp_path / "ca.pem")
    lib_tls.tls_context.cache_clear()
    server = _tls_server(ca)
    try:
        port = server.server_address[1]
        # The URL names "localhost": resolved once, the connection goes to the
        # checked address, and the certificate is checked against the name (SNI).
        assert outbound.post(f"https://localhost:{port}/h", body=b"{}", headers={}).status == 204
    finally:
        server.shutdown()
        lib_tls.tls_context.cache_clear()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_below_1_2_is_refused(settings, tmp_path):
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    settings.ALERTS_CA_FILE = str(tmp_path / "ca.pem")
    lib_tls.tls_context.cache_clear()
    weak = _tls_server(ca, maximum=ssl.TLSVersion.TLSv1_1)
    try:
        port = weak.server_address[1]
        # Control: a client that allows TLS 1.1 gets through, so the server is weak
        # and the refusal below is our client's minimum, not OpenSSL's defaults.
        lax = ssl.create_default_context(cafile=settings.ALERTS_CA_FILE)
        lax.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        lax.set_ciphers("DEFAULT@SECLEVEL=0")
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            lax.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            assert tls.version() == "TLSv1.1"
        with pytest.raises(outbound.OutboundError) as failed:
            outbound.post(f"https://localhost:{port}/h", body=b"{}", headers={})
        assert not failed.value.permanent
        assert lib_tls.tls_context(settings.ALERTS_CA_FILE).minimum_version == (
            ssl.TLSVersion.TLSv1_2
        )
    finally:
        weak.shutdown()
        lib_tls.tls_context.cache_clear()
