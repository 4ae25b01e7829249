"""A local CA and a server certificate for 127.0.0.1, localhost and ::1.

The CA is made once and kept (key mode 0600) so that clients can trust one
file across restarts; the server certificate is issued fresh at each start.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import trustme
from django.conf import settings


def default_ca_dir() -> Path:
    override = os.environ.get("SIM_CA_DIR")
    if override:
        return Path(override)
    return Path(getattr(settings, "VAR_DIR", Path(settings.BASE_DIR) / "var")) / "sim"


def load_or_create_ca(ca_dir: Path) -> tuple[trustme.CA, Path]:
    """The CA kept in `ca_dir` (created on first use) and the path of its certificate."""
    ca_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = ca_dir / "ca.pem", ca_dir / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        return trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes()), cert_path
    ca = trustme.CA(organization_name="CVR Tracker SP-API simulator")
    key_path.touch(mode=0o600)
    key_path.write_bytes(ca.private_key_pem.bytes())
    cert_path.write_bytes(ca.cert_pem.bytes())
    return ca, cert_path


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    """TLS 1.2 and 1.3 only, with a certificate for the loopback names."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    ca.issue_cert("127.0.0.1", "localhost", "::1").configure_cert(context)
    return context
