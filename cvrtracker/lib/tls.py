"""The one place outbound connections get their TLS: every client that leaves this
machine (SP-API and Login with Amazon, Stripe, alert webhooks and Slack, the
simulator's clock) is built here.

- TLS 1.2 is the minimum; the certificate must verify and match the host name.
- `ca_file` trusts that bundle instead of the system's (the simulator's own CA in
  the demo and in tests); nothing here can turn verification off.

Tests (lib/tests/test_tls.py) hold every consumer against loopback servers that
offer only TLS 1.1, a self-signed certificate, or a certificate for another name,
with a deliberately weak client as the control that those servers do answer.
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    import requests

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


@cache
def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """A verifying client context: TLS 1.2 or newer, host names checked; only
    `ca_file` is trusted when given, the system's store otherwise."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = MINIMUM_VERSION
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def http_client(
    *,
    ca_file: str = "",
    timeout: float,
    connect_timeout: float | None = None,
    headers: dict[str, str] | None = None,
    trust_env: bool = True,
) -> httpx.Client:
    """An httpx client with tls_context(ca_file); redirects are never followed."""
    import httpx

    return httpx.Client(
        verify=tls_context(ca_file),
        timeout=httpx.Timeout(timeout, connect=min(connect_timeout or timeout, timeout)),
        follow_redirects=False,
        headers=headers,
        trust_env=trust_env,
    )


def requests_session(*, ca_file: str = "") -> requests.Session:
    """A requests session (for SDKs built on requests, such as Stripe's) whose every
    https connection uses tls_context(ca_file)."""
    import requests
    from requests.adapters import HTTPAdapter

    class _Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = tls_context(ca_file)
            super().init_poolmanager(*args, **kwargs)

        def cert_verify(self, conn, url, verify, cert) -> None:
            # Our context decides what is trusted: an SDK's own bundle path (passed as
            # `verify`) must not widen it, and `verify=False` must not switch it off.
            super().cert_verify(conn, url, ca_file or True, cert)
            if ca_file:
                conn.ca_certs = ca_file

    session = requests.Session()
    session.mount("https://", _Adapter())
    return session
