"""Keys derived from a seller connection's data key, for the tables of metrics and listings.

The data key itself comes from SellerConnection.data_key() (cvrtracker/lib/crypto.py).
Blind indexes (keyed HMACs of values that must stay secret but be looked up or
compared, such as order ids and listing content) use a separate key derived
with HKDF from the same data key, one per purpose. Shredding the connection's
wrapped data key therefore also makes every blind index meaningless: nobody can
recompute it to test a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cvrtracker.amazon.models import SellerConnection


class ConnectionKeys:
    """The unwrapped data key of one connection and the blind-index keys derived from it.

    Unwrap once per service call and pass this around: every decrypt of a big
    batch then costs no master-key round trip.
    """

    def __init__(self, connection: SellerConnection):
        self.connection_code = str(connection.code)
        self.data = connection.data_key()
        self._index_keys: dict[str, bytes] = {}

    def __repr__(self) -> str:  # never print key material
        return "<ConnectionKeys>"

    def blind_index(self, purpose: str, value: str | bytes) -> str:
        """A keyed HMAC-SHA256 of `value` (hex), stable for this connection and purpose."""
        key = self._index_keys.get(purpose)
        if key is None:
            key = self._index_keys[purpose] = self.data.derive(
                info=f"cvrt:bidx:v1|{purpose}".encode()
            )
        data = value.encode() if isinstance(value, str) else value
        return hmac.new(key, data, hashlib.sha256).hexdigest()


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, so equal content has equal digests."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def natural_row(*parts: str) -> str:
    """An AAD row name from natural-key parts that may hold any character (SKUs do).

    Hashing the parts keeps '|' and '/' in a SKU from colliding with the separators.
    """
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    return f"{parts[0]}/{digest}"
