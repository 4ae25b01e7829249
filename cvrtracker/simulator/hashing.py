"""Deterministic pseudo-randomness keyed by what a value describes.

Values derive from a hash of (seed, what, who, when) instead of a shared random
stream, so any product-day can be computed alone, in any order, and a report
over one day of 50,000 products never needs the rest of the history.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

_SCALE = 1.0 / 2**32


def digest(*parts: object, size: int = 8) -> bytes:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=size).digest()


def unit(*parts: object) -> float:
    """A uniform float in [0, 1) for the given key."""
    return int.from_bytes(digest(*parts), "big") / 2**64


def units(count: int, *parts: object) -> tuple[float, ...]:
    """`count` independent uniforms in [0, 1) from one hash (cheaper than `count` calls)."""
    raw = digest(*parts, size=4 * count)
    return tuple(v * _SCALE for v in struct.unpack(f">{count}I", raw))


def pick[T](options: Sequence[T], *parts: object) -> T:
    return options[int(unit(*parts) * len(options))]
