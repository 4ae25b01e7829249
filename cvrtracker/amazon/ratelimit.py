"""Client-side token buckets per (connection, operation), shared by every worker.

Amazon meters each (application, seller, operation) with a token bucket: the
rate refills it, the burst is its size. We keep the same bucket on our side so
that workers on any number of machines stay under the quota together, instead
of learning it from 429s. The algorithm is pyrate-limiter's GCRA (a token
bucket kept as one timestamp); its state lives in Redis (the library's atomic
Lua store) when REDIS_URL is set, else in a database row locked per check, so
the embedded demo's web server and worker share it too.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import transaction
from pyrate_limiter import Rate, RateItem, StateBucket, TokenBucket
from pyrate_limiter.abstracts.algorithm import Decision, State, StateAlgorithm
from pyrate_limiter.abstracts.store import StateStore
from pyrate_limiter.buckets import InMemoryStateStore, RedisStateStore
from pyrate_limiter.clocks import WallClock

from cvrtracker.amazon.models import RateLimitState

# (rate in requests per second, burst), the default usage plans of the operations
# we call, as the official models state them (checked by tests/test_ratelimit.py).
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "getMarketplaceParticipations": (0.016, 15),
    "searchListingsItems": (5, 5),
    "searchCatalogItems": (2, 2),
    "getInventorySummaries": (2, 2),
    "searchOrders": (0.0056, 20),
    "createReport": (0.0167, 15),
    "getReport": (2, 15),
    "cancelReport": (0.0222, 10),
    "getReportDocument": (0.0167, 15),
    "createQuery": (0.0167, 15),
    "getQuery": (2, 15),
    "getDocument": (0.0167, 15),
}


SAFETY = 0.95


def bucket_rate(rate: float, burst: int) -> Rate:
    """A pyrate-limiter Rate of one request per emission interval, bucket size `burst`.

    We run 5% slower than Amazon refills: requests reach Amazon after varying
    network delays, and two that left us one interval apart may arrive closer.
    """
    return Rate(1, max(1, math.ceil(1000 / (rate * SAFETY))), burst=burst)


class DatabaseStateStore(StateStore):
    """pyrate-limiter state in a RateLimitState row, read and written under a row lock.

    On PostgreSQL `select_for_update` serializes checks of one key; on SQLite the
    IMMEDIATE transaction mode of our settings takes the database write lock.
    """

    default_clock = WallClock()

    def __init__(self, key: str):
        self.key = key

    def _row(self) -> RateLimitState:
        rows = RateLimitState.objects.select_for_update()
        try:
            return rows.get(key=self.key)
        except RateLimitState.DoesNotExist:
            # Only a key's first call inserts: an INSERT on every call (every SP-API
            # request) would cost a write, and a sequence value, for nothing.
            RateLimitState.objects.bulk_create(
                [RateLimitState(key=self.key)], ignore_conflicts=True
            )
            return rows.get(key=self.key)

    def check(self, algorithm, rates, now, weight) -> Decision:
        with transaction.atomic():
            row = self._row()
            new_state, decision = algorithm.step(rates, (row.tat,), now, weight)
            if decision.allowed:
                row.tat = int(new_state[0])
                row.save(update_fields=["tat", "updated_at"])
            return decision

    def read(self, algorithm: StateAlgorithm, rates: list[Rate]) -> State:
        row = RateLimitState.objects.filter(key=self.key).first()
        return (row.tat,) if row else algorithm.initial(rates)

    def reset(self) -> None:
        RateLimitState.objects.filter(key=self.key).update(tat=0)


# Process-local state for AMAZON_RATELIMIT_STORAGE="memory" (tests, one-off scripts).
_memory_stores: dict[str, InMemoryStateStore] = {}
_memory_rates: dict[str, float] = {}
_memory_lock = threading.Lock()


@cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url)


def redis_client():
    return _redis(settings.REDIS_URL or "redis://127.0.0.1:6379/0")


def state_store(key: str, storage: str) -> StateStore:
    """Where the bucket `key` keeps its state for `storage` ("redis", "memory",
    else the database); the API's per-key limiter keeps its buckets here too."""
    if storage == "redis":
        return RedisStateStore(redis_client(), f"cvrt:ratelimit:{key}")
    if storage == "memory":
        with _memory_lock:
            return _memory_stores.setdefault(key, InMemoryStateStore())
    return DatabaseStateStore(key)


class QuotaTimeout(TimeoutError):
    """No token within the caller's timeout; `wait_seconds` until the next one."""

    def __init__(self, operation: str, wait_seconds: float):
        super().__init__(f"{operation} quota: next call in {wait_seconds:.1f} s")
        self.wait_seconds = wait_seconds


@dataclass
class OperationLimiter:
    """The bucket of one (connection, operation)."""

    key: str
    operation: str
    storage: str

    def _store(self) -> StateStore:
        return state_store(self.key, self.storage)

    def rate(self) -> Rate:
        """The model's plan, with the rate Amazon last announced for this key if any."""
        default_rate, burst = USAGE_PLANS[self.operation]
        observed = self.observed_rate()
        return bucket_rate(observed or default_rate, burst)

    def observed_rate(self) -> float | None:
        if self.storage == "redis":
            raw = redis_client().get(f"cvrt:ratelimit-rate:{self.key}")
            return float(raw) if raw else None
        if self.storage == "memory":
            return _memory_rates.get(self.key)
        return (
            RateLimitState.objects.filter(key=self.key)
            .values_list("observed_rate", flat=True)
            .first()
        )

    def observe(self, header: str | None) -> None:
        """Adopt the rate from an x-amzn-RateLimit-Limit header (sent on 2xx/400/404 only)."""
        try:
            rate = float(header) if header else 0.0
        except ValueError:
            return
        old_rate = self.observed_rate() or USAGE_PLANS[self.operation][0]
        if not (0 < rate < 10_000) or rate == old_rate:
            return
        # The bucket state is a time at which the debt is paid back at the old
        # rate; restate that debt in calls at the new rate, or a faster rate
        # would still wait as long as the slow one.
        old_emission = bucket_rate(old_rate, 1).interval * 1000
        new_emission = bucket_rate(rate, 1).interval * 1000
        now_us = WallClock().now() * 1000

        def rescale(tat: int) -> int:
            return now_us + (tat - now_us) * new_emission // old_emission if tat > now_us else tat

        if self.storage == "redis":
            redis = redis_client()
            state_key = f"cvrt:ratelimit:{self.key}"
            from redis.exceptions import WatchError

            with redis.pipeline() as pipe:
                try:
                    pipe.watch(state_key)
                    tat = int(pipe.hget(state_key, "tat1") or 0)
                    pipe.multi()
                    if tat:
                        pipe.hset(state_key, "tat1", str(rescale(tat)))
                    # Forget an announced rate after a day: Amazon may raise it again.
                    pipe.set(f"cvrt:ratelimit-rate:{self.key}", str(rate), ex=86400)
                    pipe.execute()
                except WatchError:
                    pass  # another worker changed the bucket; the next answer tells us again
        elif self.storage == "memory":
            store = self._store()
            with _memory_lock:
                if store._state is not None:
                    store._state = (rescale(int(store._state[0])),)
                _memory_rates[self.key] = rate
        else:
            with transaction.atomic():
                row = DatabaseStateStore(self.key)._row()
                row.tat, row.observed_rate = rescale(row.tat), rate
                row.save(update_fields=["tat", "observed_rate", "updated_at"])

    def try_acquire(self) -> int:
        """Take a token: 0 when granted, else the milliseconds to wait before asking again."""
        bucket = StateBucket([self.rate()], algorithm=TokenBucket(), store=self._store())
        item = RateItem(self.key, WallClock().now(), weight=1)
        decision = bucket.put_decision(item)
        assert isinstance(decision, Decision)
        if decision.allowed:
            return 0
        return max(1, decision.retry_after_ms or 1)

    def available(self, limit: int) -> int:
        """How many calls the bucket would grant right now (at most `limit`), taking none.

        The scheduler asks this before handing out createReport jobs, so that it
        enqueues what the quota allows instead of jobs that would only wait.
        """
        rates = [self.rate()]
        algorithm = TokenBucket()
        state = self._store().read(algorithm, rates)
        now = WallClock().now()
        granted = 0
        while granted < limit:
            state, decision = algorithm.step(rates, state, now, 1)
            if not decision.allowed:
                break
            granted += 1
        return granted

    def acquire(self, *, timeout: float) -> None:
        """Block until a token is granted; TimeoutError if that would take over `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            wait_ms = self.try_acquire()
            if wait_ms == 0:
                return
            if time.monotonic() + wait_ms / 1000 > deadline:
                raise QuotaTimeout(self.operation, wait_ms / 1000)
            time.sleep(wait_ms / 1000)


def limiter_for(connection_key: str, operation: str) -> OperationLimiter:
    return OperationLimiter(
        key=f"{connection_key}:{operation}",
        operation=operation,
        storage=settings.AMAZON_RATELIMIT_STORAGE,
    )


# -- request budgets: at most N requests in any rolling window, and one per interval --------

# GET_SALES_AND_TRAFFIC_REPORT since 2026-04-24: one createReport per 15 minutes and
# 96 a day (models#5210; support named the scope per seller account, shared by every
# app the seller authorized, and also per app across sellers: AMAZON_ST_BUDGET_SCOPE).
ST_DAILY_LIMIT = 96
ST_INTERVAL_SECONDS = 15 * 60
ST_WINDOW_SECONDS = 24 * 3600


@dataclass(frozen=True)
class BudgetUsage:
    used: int  # grants in the current window
    cap: int  # our cap in that window
    next_at: float  # epoch seconds when the next request may go (<= now: now)


def _budget_decide(state: dict, now: float, *, cap: int, window: float, interval: float):
    """(wait seconds, state with expired grants dropped): 0 when a request may go now."""
    grants = sorted(g for g in state.get("grants", []) if g > now - window)
    blocked = float(state.get("blocked_until", 0.0))
    wait = max(0.0, blocked - now)
    if grants:
        wait = max(wait, grants[-1] + interval - now)
    if len(grants) >= cap:
        # The oldest grant that must leave the window before one more fits.
        wait = max(wait, grants[len(grants) - cap] + window - now)
    return wait, {"grants": grants, "blocked_until": blocked}


@dataclass
class RequestBudget:
    """A rolling-window budget of one key, shared by every worker like the buckets above.

    Unlike a token bucket (which would allow a full burst and then the refill, twice the
    cap in one day), it counts the grants of the last `window` seconds, so the cap
    holds in every window, whichever way Amazon counts its day. State: the grant
    times and a `blocked_until` set after Amazon answered 429 anyway.
    """

    key: str
    cap: int
    window: float
    interval: float
    storage: str

    def _update(self, change):
        """Run change(state) -> (result, new state or None) atomically in the store."""
        if self.storage == "memory":
            with _memory_lock:
                state = _memory_budgets.get(self.key, {})
                result, new = change(state)
                if new is not None:
                    _memory_budgets[self.key] = new
                return result
        if self.storage == "redis":
            import json

            from redis.exceptions import WatchError

            redis = redis_client()
            name = f"cvrt:budget:{self.key}"
            while True:
                with redis.pipeline() as pipe:
                    try:
                        pipe.watch(name)
                        raw = pipe.get(name)
                        result, new = change(json.loads(raw) if raw else {})
                        pipe.multi()
                        if new is not None:
                            pipe.set(name, json.dumps(new), ex=int(self.window) + 3600)
                        pipe.execute()
                        return result
                    except WatchError:
                        continue  # another worker took a grant meanwhile: decide again
        with transaction.atomic():
            row = DatabaseStateStore(self.key)._row()
            result, new = change(row.budget or {})
            if new is not None:
                row.budget = new
                row.save(update_fields=["budget", "updated_at"])
            return result

    def _decide(self, state: dict, now: float):
        return _budget_decide(state, now, cap=self.cap, window=self.window, interval=self.interval)

    def try_acquire(self, now: float | None = None) -> float:
        """Take a grant: 0 when granted, else the seconds to wait before asking again."""
        moment = time.time() if now is None else now

        def change(state):
            wait, state = self._decide(state, moment)
            if wait > 0:
                return wait, None
            state["grants"].append(moment)
            return 0.0, state

        return self._update(change)

    def refund(self, moment: float) -> None:
        """Give back the grant taken at `moment` (the request was never sent)."""

        def change(state):
            grants = list(state.get("grants", []))
            if moment not in grants:
                return None, None
            grants.remove(moment)
            return None, {**state, "grants": grants}

        self._update(change)

    def wait(self, now: float | None = None) -> float:
        """Seconds until a grant would be given (0: now), taking none."""
        moment = time.time() if now is None else now
        return self._update(lambda state: (self._decide(state, moment)[0], None))

    def block(self, seconds: float, now: float | None = None) -> None:
        """No grant for `seconds` (after a 429: Amazon's budget is spent elsewhere too)."""
        until = (time.time() if now is None else now) + seconds

        def change(state):
            state = {"grants": state.get("grants", []), **state}
            state["blocked_until"] = max(float(state.get("blocked_until", 0.0)), until)
            return None, state

        self._update(change)

    def usage(self, now: float | None = None) -> BudgetUsage:
        moment = time.time() if now is None else now

        def read(state):
            wait, state = self._decide(state, moment)
            return BudgetUsage(len(state["grants"]), self.cap, moment + wait), None

        return self._update(read)


_memory_budgets: dict[str, dict] = {}


def memory_reset() -> None:
    """Forget every process-local bucket and budget (storage "memory": tests)."""
    with _memory_lock:
        _memory_stores.clear()
        _memory_rates.clear()
        _memory_budgets.clear()


def sales_traffic_budget(connection_key: str) -> RequestBudget:
    """The Sales & Traffic createReport budget of a connection (or of the app, by scope).

    We spend AMAZON_ST_BUDGET_SHARE of Amazon's 96 a day, leaving the rest to the
    seller's other tools; AMAZON_ST_TIME_SCALE shrinks the 15 minutes and the day
    alike for the relaxed simulator, as its own budget does.
    """
    scale = max(settings.AMAZON_ST_TIME_SCALE, 1e-9)
    scope = "app" if settings.AMAZON_ST_BUDGET_SCOPE == "app" else connection_key
    return RequestBudget(
        key=f"{scope}:sales-traffic-budget",
        cap=max(1, math.floor(ST_DAILY_LIMIT * settings.AMAZON_ST_BUDGET_SHARE)),
        window=ST_WINDOW_SECONDS / scale,
        interval=ST_INTERVAL_SECONDS / scale,
        storage=settings.AMAZON_RATELIMIT_STORAGE,
    )
