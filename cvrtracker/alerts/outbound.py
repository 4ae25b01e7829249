"""The one HTTP client for alert webhooks and Slack: it posts only to public addresses.

A webhook URL is typed by a customer, so without care it is a way to make our
workers call our own network (SSRF). Every request therefore:

- resolves the host once and refuses it when ANY address it resolves to is
  private, loopback, link-local, multicast, reserved, unspecified or otherwise
  not global (IPv4 and IPv6, including IPv4 inside IPv6: mapped, 6to4, Teredo,
  NAT64), then connects to the checked address itself, so a second DNS answer
  (rebinding) is never used; the name still goes in the Host header and in TLS
  SNI, and the certificate is verified against it;
- follows no redirect: a 3xx answer is a permanent failure, so a redirect to
  127.0.0.1 (or anywhere) is never requested;
- ignores proxy environment variables (a proxy would resolve the name again);
- speaks TLS 1.2 or later only, with timeouts and a response size cap.

`ALERTS_ALLOW_PRIVATE_TARGETS` (default False) lets tests and the demo reach
receivers on loopback: True allows every address, a list of networks allows
those only (e.g. an internal relay, ["10.1.2.3/32"]). Plain http:// is refused
unless the setting is not False.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from cvrtracker.lib.tls import http_client

MAX_RESPONSE_BYTES = 64 * 1024
# Receivers must answer quickly: we post and forget, the body is not needed.
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundError(Exception):
    """A post that did not succeed. `permanent`: retrying cannot help (bad target, 4xx).

    The message never holds the URL (a Slack URL is a secret) or the answer's body.
    """

    def __init__(self, message: str, *, permanent: bool, status: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status


class TargetRefused(OutboundError):
    """The URL names an address we never call, or is not a URL we accept."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as typed (lower case), for Host and SNI
    port: int
    path: str  # path and query
    address: str  # the checked IP to connect to


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes  # at most MAX_RESPONSE_BYTES


def _allowance() -> bool | list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    value = settings.ALERTS_ALLOW_PRIVATE_TARGETS
    if isinstance(value, bool):
        return value
    return [ipaddress.ip_network(str(item), strict=False) for item in value]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for a globally routable unicast address (and any IPv4 it embeds)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and not address_is_public(inner):
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    allowance = _allowance()
    if allowance is True or address_is_public(ip):
        return True
    if allowance is False:
        return False
    plain = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    return any(ip in net or (plain is not None and plain in net) for net in allowance)


def _resolve(host: str, port: int) -> list[str]:
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [str(literal)]
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        # A name that does not resolve may be a passing DNS fault: retried, and the
        # channel is paused after enough failures in a row.
        raise OutboundError("the host name did not resolve", permanent=False) from error
    addresses = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = sockaddr[0].split("%", 1)[0]
        if address not in addresses:
            addresses.append(address)
    return addresses


def check_url(url: str) -> Target:
    """The checked target of `url`; TargetRefused for a URL or address we never call.

    Resolves the host name (DNS): call it where a lookup is fine (a worker, a form
    clean) and connect to `Target.address`, never to the name again.
    """
    validate_url_shape(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not addresses:
        raise OutboundError("the host name did not resolve", permanent=False)
    for address in addresses:
        if not address_allowed(ipaddress.ip_address(address)):
            raise TargetRefused(
                "the address resolves to a private, loopback or reserved network, "
                "which alerts never call"
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


def validate_url_shape(url: str) -> None:
    """TargetRefused unless `url` is an absolute https:// URL without user info (no DNS)."""
    if len(url) > 2000:
        raise TargetRefused("the URL is too long")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise TargetRefused("this is not a valid URL") from None
    insecure_ok = _allowance() is not False
    if parts.scheme != "https" and not (parts.scheme == "http" and insecure_ok):
        raise TargetRefused("the URL must start with https://")
    if not parts.hostname:
        raise TargetRefused("the URL has no host name")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL may not hold a user name or password")
    if any(ch.isspace() for ch in url):
        raise TargetRefused("the URL may not contain spaces")


def post(url: str, *, body: bytes, headers: dict[str, str]) -> Response:
    """POST `body` to `url` through the checks above; OutboundError unless it answered 2xx."""
    # Imported here: the pages import this module for its URL checks, and the web
    # process has no use for an HTTP client (about 4 MB with what it pulls in).
    import httpx

    target = check_url(url)
    host_ip = f"[{target.address}]" if ":" in target.address else target.address
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    pinned = f"{target.scheme}://{host_ip}:{target.port}{target.path}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request_headers = {**headers, "Host": host_header, "User-Agent": "CVR-Tracker-Alerts/1"}
    deadline = time.monotonic() + TOTAL_TIMEOUT
    try:
        with (
            http_client(
                ca_file=settings.ALERTS_CA_FILE,
                timeout=TOTAL_TIMEOUT,
                connect_timeout=CONNECT_TIMEOUT,
                trust_env=False,
            ) as client,
            client.stream(
                "POST", pinned, content=body, headers=request_headers, extensions=extensions
            ) as answer,
        ):
            received = b""
            for chunk in answer.iter_bytes():
                received += chunk
                if len(received) >= MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                    break
            status = answer.status_code
    except httpx.TimeoutException as error:
        raise OutboundError("the receiver did not answer in time", permanent=False) from error
    except httpx.HTTPError as error:
        # Connection refused or reset, TLS failures: the kind of error, never the URL.
        raise OutboundError(
            f"could not reach the receiver ({type(error).__name__})", permanent=False
        ) from error
    received = received[:MAX_RESPONSE_BYTES]
    if 200 <= status < 300:
        return Response(status, received)
    if 300 <= status < 400:
        raise OutboundError(
            f"the receiver answered {status} (a redirect, which alerts do not follow)",
            permanent=True,
            status=status,
        )
    transient = status in (408, 429) or status >= 500
    raise OutboundError(f"the receiver answered {status}", permanent=not transient, status=status)
