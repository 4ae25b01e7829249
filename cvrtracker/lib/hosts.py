"""Whether a host name or address stays on this machine."""

from __future__ import annotations

import ipaddress


def host_is_loopback(host: str | None) -> bool:
    """True for "localhost" and any loopback address (127.0.0.0/8, ::1), with or
    without IPv6 brackets; False for everything else, names included."""
    host = (host or "").strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
