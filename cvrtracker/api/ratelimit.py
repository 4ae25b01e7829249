"""A token bucket per API key (API_RATE_LIMIT_PER_MINUTE, the whole minute as burst).

pyrate-limiter's token bucket, with its state where the Amazon limiter keeps
its own (cvrtracker/amazon/ratelimit.py): Redis when REDIS_URL is set, else a
locked database row, so every web process shares one bucket per key.
"""

from __future__ import annotations

import math
import threading

from django.conf import settings
from pyrate_limiter import Duration, Rate, RateItem, StateBucket, TokenBucket
from pyrate_limiter.abstracts.algorithm import Decision
from pyrate_limiter.abstracts.store import StateStore
from pyrate_limiter.buckets import InMemoryStateStore, RedisStateStore
from pyrate_limiter.clocks import WallClock

from cvrtracker.amazon.ratelimit import DatabaseStateStore, redis_client
from cvrtracker.api.models import ApiKey

# Process-local buckets for API_RATELIMIT_STORAGE="memory" (one-off scripts).
_memory_stores: dict[str, InMemoryStateStore] = {}
_memory_lock = threading.Lock()


def _store(name: str) -> StateStore:
    storage = settings.API_RATELIMIT_STORAGE
    if storage == "redis":
        return RedisStateStore(redis_client(), f"cvrt:ratelimit:{name}")
    if storage == "memory":
        with _memory_lock:
            return _memory_stores.setdefault(name, InMemoryStateStore())
    return DatabaseStateStore(name)


def api_key_throttle(*, key: ApiKey) -> int:
    """Take one request from the key's bucket: 0 when allowed, else whole seconds to wait."""
    per_minute = settings.API_RATE_LIMIT_PER_MINUTE
    name = f"api:{key.code}"
    bucket = StateBucket(
        [Rate(per_minute, Duration.MINUTE, burst=per_minute)],
        algorithm=TokenBucket(),
        store=_store(name),
    )
    decision = bucket.put_decision(RateItem(name, WallClock().now(), weight=1))
    assert isinstance(decision, Decision)
    if decision.allowed:
        return 0
    return max(1, math.ceil((decision.retry_after_ms or 1000) / 1000))
