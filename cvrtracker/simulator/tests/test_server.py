"""Transport: TLS 1.2/1.3 with the generated CA, plain HTTP on demand, no main-site middleware."""

from __future__ import annotations

import socket
import ssl
import threading
import warnings

import pytest

from cvrtracker.simulator.testing import SimClient, running_simulator
from cvrtracker.simulator.tls import load_or_create_ca


def _handshake(server, context: ssl.SSLContext) -> str:
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return tls.version()


def test_it_serves_tls_with_its_own_ca(server):
    context = ssl.create_default_context(cafile=str(server.ca_path))
    assert _handshake(server, context) in ("TLSv1.2", "TLSv1.3")
    assert server.base_url.startswith("https://127.0.0.1:")


def test_it_accepts_tls_1_2(server):
    context = ssl.create_default_context(cafile=str(server.ca_path))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    assert _handshake(server, context) == "TLSv1.2"


def _tls11_client(cafile: str) -> ssl.SSLContext:
    # Lower the client's security level, or OpenSSL would refuse TLS 1.1 by itself.
    context = ssl.create_default_context(cafile=cafile)
    context.set_ciphers("DEFAULT@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1_1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    return context


def _weak_server_accepts_tls11(server) -> bool:
    """Control: a deliberately weak server with the same certificate, to prove the client works."""
    ca, _ = load_or_create_ca(server.ca_path.parent)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("DEFAULT@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1_1
    ca.issue_cert("127.0.0.1").configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with context.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            client = _tls11_client(str(server.ca_path))
            with client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return tls.version() == "TLSv1.1"
    except ssl.SSLError:
        return False
    finally:
        thread.join(timeout=5)
        listener.close()


def test_it_refuses_tls_1_1(server):
    if not _weak_server_accepts_tls11(server):
        pytest.skip("this OpenSSL cannot speak TLS 1.1 at all, so the refusal proves nothing")
    with pytest.raises(ssl.SSLError):
        _handshake(server, _tls11_client(str(server.ca_path)))


def test_clients_without_the_ca_are_refused(server):
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(server, ssl.create_default_context())


def test_it_keeps_the_ca_across_restarts():
    with running_simulator() as first:
        pem = first.ca_path.read_bytes()
    with running_simulator() as second:
        assert second.ca_path.read_bytes() == pem
        assert (second.ca_path.parent / "ca-key.pem").stat().st_mode & 0o077 == 0


def test_plain_http_for_debugging():
    with running_simulator(plain_http=True) as sim:
        assert sim.base_url.startswith("http://") and sim.ca_path is None
        assert SimClient(sim).get("/_sim/").status == 200


def test_no_main_site_middleware_runs(client):
    answer = client.get("/_sim/")
    # The main site sets a CSP and X-Frame-Options on every answer; the simulator must not.
    assert "Content-Security-Policy" not in answer.headers
    assert "X-Frame-Options" not in answer.headers
    assert "Set-Cookie" not in answer.headers


def test_a_post_needs_no_csrf_token(client, seller):
    assert client.post(f"/_sim/sellers/{seller.id}/grant").status == 200
