"""TLS 1.2+ at the edge (issue 13, point 4): the production nginx configuration under
deploy/nginx/ is started on loopback in front of the app and scanned with sslyze.

- TLS 1.0 and 1.1 are refused, 1.2 and 1.3 accepted, and every TLS 1.2 suite is
  forward-secret (ECDHE) with an AEAD cipher;
- plain HTTP answers 301 to HTTPS; HSTS is sent;
- the app trusts the proxy's X-Forwarded-Proto: with SECURE_SSL_REDIRECT on, a request
  through nginx is served while the same request straight to the app is redirected;
- the control: a deliberately weak server (TLS 1.0 and 1.1 allowed) is caught by the
  same scan, so sslyze (which brings its own legacy OpenSSL) can see old protocols.

Needs Debian's nginx (`.ci/run` installs nginx-light) and sslyze in .venv-gates.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import trustme

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "nginx"))
from render import render  # noqa: E402  (deploy/nginx/render.py is a script, not a package)

SSLYZE = ROOT / ".venv-gates" / "bin" / "sslyze"
PROTOCOLS = {
    "tls_1_0_cipher_suites": "TLS 1.0",
    "tls_1_1_cipher_suites": "TLS 1.1",
    "tls_1_2_cipher_suites": "TLS 1.2",
    "tls_1_3_cipher_suites": "TLS 1.3",
}

pytestmark = pytest.mark.slow

WEAK_SERVER = """
server {{
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    ssl_ciphers DEFAULT:@SECLEVEL=0;
    location / {{ return 200 "weak"; }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    assert found, "nginx is missing: `apt-get install nginx-light` (.ci/run does it)"
    return found


@contextmanager
def nginx(tmp: Path, server_config: str, ports: list[int]):
    """Run nginx in the foreground with `server_config` as its only site."""
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
        (tmp / folder).mkdir(exist_ok=True)
    (tmp / "site.conf").write_text(server_config)
    (tmp / "nginx.conf").write_text(
        f"""
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
"""
    )
    test = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert test.returncode == 0, test.stderr
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        for port in ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    assert process.poll() is None, process.stderr.read().decode()
                    assert time.monotonic() < deadline, f"nginx did not listen on {port}"
                    time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def sslyze(port: int, tmp: Path) -> dict[str, list[str]]:
    """{protocol: accepted cipher suite names} as sslyze sees the server."""
    assert SSLYZE.exists(), f"{SSLYZE} is missing: run `make setup` (tools/gates.txt)"
    out = tmp / "sslyze.json"
    answer = subprocess.run(
        [
            str(SSLYZE),
            "--tlsv1",
            "--tlsv1_1",
            "--tlsv1_2",
            "--tlsv1_3",
            "--quiet",
            f"--json_out={out}",
            f"localhost:{port}{{127.0.0.1}}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.exists(), answer.stdout + answer.stderr
    (result,) = json.loads(out.read_text())["server_scan_results"]
    assert result["scan_status"] == "COMPLETED", result
    scans = result["scan_result"]
    return {
        label: [s["cipher_suite"]["name"] for s in scans[key]["result"]["accepted_cipher_suites"]]
        for key, label in PROTOCOLS.items()
    }


@pytest.fixture
def certificate(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return tmp_path


def test_the_edge_offers_tls_1_2_and_1_3_only_with_forward_secret_aead_suites(
    certificate, live_server, settings
):
    # As TRUST_PROXY_SSL_HEADER=1 sets it; the extra URL reports what the app believes.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    settings.ROOT_URLCONF = "tests.edge_urls"
    http_port, https_port = free_port(), free_port()
    upstream = live_server.url.removeprefix("http://")
    config = render(
        {
            "SERVER_NAME": "localhost",
            "CERTIFICATE": str(certificate / "cert.pem"),
            "CERTIFICATE_KEY": str(certificate / "key.pem"),
            "UPSTREAM": upstream,
            "LISTEN_ADDRESS": "127.0.0.1",
            "HTTP_PORT": str(http_port),
            "HTTPS_PORT": str(https_port),
        }
    )
    with nginx(certificate, config, [http_port, https_port]):
        accepted = sslyze(https_port, certificate)
        print("edge:", {protocol: len(suites) for protocol, suites in accepted.items()})
        assert accepted["TLS 1.0"] == [] and accepted["TLS 1.1"] == []
        assert accepted["TLS 1.2"] and accepted["TLS 1.3"]
        for suite in accepted["TLS 1.2"]:
            assert suite.startswith("TLS_ECDHE_"), suite
            assert "_GCM_" in suite or "CHACHA20_POLY1305" in suite, suite

        plain = httpx.get(
            f"http://127.0.0.1:{http_port}/healthz?x=1", headers={"Host": "localhost"}
        )
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"https://localhost:{https_port}/healthz?x=1"

        with httpx.Client(verify=str(certificate / "ca.pem")) as client:
            page = client.get(f"https://localhost:{https_port}/accounts/login/")
            assert page.status_code == 200, page.status_code
            hsts = page.headers.get_list("Strict-Transport-Security")
            assert hsts == ["max-age=31536000; includeSubDomains"]
            # A client's own X-Forwarded-Proto is overwritten, never passed on.
            seen = client.get(
                f"https://localhost:{https_port}/_edge/scheme",
                headers={"X-Forwarded-Proto": "http"},
            )
        assert seen.text == "https localhost", seen.text
        # Straight to the app (no edge, no header) the same request is plain http.
        direct = httpx.get(f"{live_server.url}/_edge/scheme")
        assert direct.text.startswith("http ")


def test_the_scan_catches_a_weak_server(certificate):
    port = free_port()
    weak = WEAK_SERVER.format(port=port, cert=certificate / "cert.pem", key=certificate / "key.pem")
    with nginx(certificate, weak, [port]):
        accepted = sslyze(port, certificate)
    print("weak control:", {protocol: len(suites) for protocol, suites in accepted.items()})
    assert accepted["TLS 1.0"] and accepted["TLS 1.1"]


def test_rendering_refuses_a_missing_value():
    with pytest.raises(SystemExit, match="CERTIFICATE"):
        render({"SERVER_NAME": "x.example"})
