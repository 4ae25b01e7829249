"""A token bucket per API key (API_RATE_LIMIT_PER_MINUTE, the whole minute as burst).

pyrate-limiter's token bucket, with its state where the Amazon limiter keeps
its own (cvrtracker/amazon/ratelimit.py): Redis when REDIS_URL is set, else a
locked database row, so every web process shares one bucket per key.
"""

from __future__ import annotations

import math

from django.conf import settings

from cvrtracker.api.models import ApiKey


def api_key_throttle(*, key: ApiKey) -> int:
    """Take one request from the key's bucket: 0 when allowed, else whole seconds to wait."""
    # Imported on the first API call, not with the URLconf: pyrate-limiter brings
    # multiprocessing and sqlite3 along, which a worker serving pages never needs.
    from pyrate_limiter import Duration, Rate, RateItem, StateBucket, TokenBucket
    from pyrate_limiter.abstracts.algorithm import Decision
    from pyrate_limiter.clocks import WallClock

    from cvrtracker.amazon.ratelimit import state_store

    per_minute = settings.API_RATE_LIMIT_PER_MINUTE
    name = f"api:{key.code}"
    bucket = StateBucket(
        [Rate(per_minute, Duration.MINUTE, burst=per_minute)],
        algorithm=TokenBucket(),
        store=state_store(name, settings.API_RATELIMIT_STORAGE),
    )
    decision = bucket.put_decision(RateItem(name, WallClock().now(), weight=1))
    assert isinstance(decision, Decision)
    if decision.allowed:
        return 0
    return max(1, math.ceil((decision.retry_after_ms or 1000) / 1000))
