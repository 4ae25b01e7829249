"""Token buckets per (seller, operation), as Amazon's usage plans describe them.

The rate refills the bucket continuously and the burst is its size. Buckets run
on real monotonic time, not the simulated clock: advancing the calendar must not
hand out free requests. `relaxed` multiplies rate and burst so test suites can
make many calls, but the buckets stay honest and still empty.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .specs import operations

RELAXED_FACTOR = 100.0
QUOTA_MODES = ("real", "relaxed")


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        """Refill for the time elapsed, then take one token; False when the bucket is empty."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    def __init__(self, mode: str = "real", monotonic: Callable[[], float] = time.monotonic):
        if mode not in QUOTA_MODES:
            raise ValueError(f"quota mode must be one of {QUOTA_MODES}, not {mode!r}")
        self.mode = mode
        self._monotonic = monotonic
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def plan(self, operation_id: str) -> tuple[float, float]:
        """The (rate, burst) in force for an operation in this mode."""
        op = operations()[operation_id]
        factor = RELAXED_FACTOR if self.mode == "relaxed" else 1.0
        return op.rate * factor, op.burst * factor

    def allow(self, seller_id: str, operation_id: str) -> bool:
        """Take a token from the (seller, operation) bucket; False means answer 429."""
        now = self._monotonic()
        with self._lock:
            bucket = self._buckets.get((seller_id, operation_id))
            if bucket is None:
                rate, burst = self.plan(operation_id)
                bucket = TokenBucket(rate=rate, burst=burst, tokens=burst, updated=now)
                self._buckets[(seller_id, operation_id)] = bucket
            return bucket.take(now)

    def limit_header(self, operation_id: str) -> str:
        """The x-amzn-RateLimit-Limit value: the refill rate, written as Amazon writes it."""
        rate, _ = self.plan(operation_id)
        return f"{rate:g}"
