"""Token buckets per (seller, operation), as Amazon's usage plans describe them, and the
per-report-type budgets Amazon adds on top of them (Sales & Traffic since 2026-04-24).

The rate refills the bucket continuously and the burst is its size. Buckets run
on real monotonic time, not the simulated clock: advancing the calendar must not
hand out free requests. `relaxed` multiplies rate and burst so test suites can
make many calls, but the buckets stay honest and still empty.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .specs import operations

RELAXED_FACTOR = 100.0
QUOTA_MODES = ("real", "relaxed")
BUDGET_SCOPES = ("seller", "app")

# GET_SALES_AND_TRAFFIC_REPORT since 2026-04-24: "no more than once every 15 minutes ...
# and up to 96 times per day" (Amazon support, quoted in amzn/selling-partner-api-models#5210).
ST_INTERVAL_SECONDS = 900.0
ST_DAY_SECONDS = 86_400.0
ST_PER_DAY = 96


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, now: float) -> bool:
        """Refill for the time elapsed, then take one token; False when the bucket is empty."""
        self.refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait(self, now: float) -> float:
        """Seconds until the bucket holds a whole token again."""
        self.refill(now)
        return max(0.0, (1.0 - self.tokens) / self.rate) if self.rate else float("inf")


@dataclass
class _Spend:
    """What one budget key (a seller, or the whole app) has spent."""

    interval: TokenBucket
    accepted: deque[float] = field(default_factory=deque)  # monotonic times, oldest first


class ReportTypeBudget:
    """A report type's own limit: one request per `interval` and `per_day` per rolling day.

    Two readings of the scope exist (models#5210): per seller account, shared by every app
    the seller authorized, or per app across all its sellers. `scope` picks one. In
    "seller" scope the seller's other apps are modelled as `other_apps_per_day` requests
    spent evenly across every day: they always hold that many of the day's slots, so ours
    is `per_day - other_apps_per_day`. They are assumed to have their own 15-minute
    interval (the per-app reading of it); only the day is shared. In "app" scope nobody
    else shares the budget and `other_apps_per_day` does not apply.

    With nobody else spending, 96 a day is exactly what one per 900 s allows in 86,400 s,
    so the day cap only bites once other apps use some of it.
    """

    def __init__(
        self,
        *,
        interval: float = ST_INTERVAL_SECONDS,
        day: float = ST_DAY_SECONDS,
        per_day: int = ST_PER_DAY,
        other_apps_per_day: int = 0,
        scope: str = "seller",
    ):
        if scope not in BUDGET_SCOPES:
            raise ValueError(f"budget scope must be one of {BUDGET_SCOPES}, not {scope!r}")
        if not 0 <= other_apps_per_day <= per_day:
            raise ValueError(f"other apps use between 0 and {per_day} requests a day")
        self.interval = interval
        self.day = day
        self.per_day = per_day
        self.other_apps_per_day = other_apps_per_day
        self.scope = scope
        self._spent: dict[str, _Spend] = {}

    def key(self, seller_id: str) -> str:
        return "app" if self.scope == "app" else seller_id

    @property
    def ours_per_day(self) -> int:
        return self.per_day - (self.other_apps_per_day if self.scope == "seller" else 0)

    def _spend(self, seller_id: str, now: float) -> _Spend:
        key = self.key(seller_id)
        spend = self._spent.get(key)
        if spend is None:
            bucket = TokenBucket(rate=1.0 / self.interval, burst=1.0, tokens=1.0, updated=now)
            spend = self._spent[key] = _Spend(interval=bucket)
        while spend.accepted and spend.accepted[0] <= now - self.day:
            spend.accepted.popleft()
        return spend

    def allow(self, seller_id: str, now: float) -> bool:
        """Spend one request if both the interval and the rolling day allow it (caller locks)."""
        spend = self._spend(seller_id, now)
        if len(spend.accepted) >= self.ours_per_day:
            return False
        if not spend.interval.take(now):
            return False
        spend.accepted.append(now)
        return True

    def state(self, seller_id: str, now: float) -> dict:
        """Used and remaining in the rolling day, and the seconds until a request would pass."""
        spend = self._spend(seller_id, now)
        used = len(spend.accepted)
        wait = spend.interval.wait(now)
        cap = self.ours_per_day
        if cap <= 0:
            wait = float("inf")
        elif used >= cap:
            # The oldest requests must leave the day until one slot is free.
            wait = max(wait, spend.accepted[used - cap] + self.day - now)
        return {
            "key": self.key(seller_id),
            "scope": self.scope,
            "intervalSeconds": self.interval,
            "daySeconds": self.day,
            "perDay": self.per_day,
            "otherAppsPerDay": self.other_apps_per_day if self.scope == "seller" else 0,
            "used": used,
            "remaining": max(0, cap - used),
            "nextAllowedInSeconds": None if wait == float("inf") else round(wait, 3),
        }

    def reset(self) -> None:
        self._spent.clear()


def sales_traffic_budget(
    mode: str = "real", *, other_apps_per_day: int = 0, scope: str = "seller"
) -> ReportTypeBudget:
    """The Sales & Traffic budget; relaxed mode shrinks only the time scale, 96 stays 96."""
    factor = RELAXED_FACTOR if mode == "relaxed" else 1.0
    return ReportTypeBudget(
        interval=ST_INTERVAL_SECONDS / factor,
        day=ST_DAY_SECONDS / factor,
        per_day=ST_PER_DAY,
        other_apps_per_day=other_apps_per_day,
        scope=scope,
    )


class RateLimiter:
    def __init__(
        self,
        mode: str = "real",
        monotonic: Callable[[], float] = time.monotonic,
        report_budgets: dict[str, ReportTypeBudget] | None = None,
    ):
        if mode not in QUOTA_MODES:
            raise ValueError(f"quota mode must be one of {QUOTA_MODES}, not {mode!r}")
        self.mode = mode
        self.monotonic = monotonic
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self.report_budgets = dict(report_budgets or {})
        self._lock = threading.Lock()

    @property
    def factor(self) -> float:
        return RELAXED_FACTOR if self.mode == "relaxed" else 1.0

    def plan(self, operation_id: str) -> tuple[float, float]:
        """The (rate, burst) in force for an operation in this mode."""
        op = operations()[operation_id]
        return op.rate * self.factor, op.burst * self.factor

    def allow(self, seller_id: str, operation_id: str, report_type: str | None = None) -> bool:
        """Take a token from the (seller, operation) bucket; False means answer 429.

        A request for a report type with its own budget must also pass that budget. The
        generic bucket is taken first, as a gateway in front of the reports service would
        (which of the two Amazon charges first is not documented).
        """
        now = self.monotonic()
        with self._lock:
            bucket = self._buckets.get((seller_id, operation_id))
            if bucket is None:
                rate, burst = self.plan(operation_id)
                bucket = TokenBucket(rate=rate, burst=burst, tokens=burst, updated=now)
                self._buckets[(seller_id, operation_id)] = bucket
            if not bucket.take(now):
                return False
            budget = self.report_budgets.get(report_type or "")
            return budget is None or budget.allow(seller_id, now)

    def budget_state(self, seller_id: str, report_type: str) -> dict | None:
        budget = self.report_budgets.get(report_type)
        if budget is None:
            return None
        with self._lock:
            return budget.state(seller_id, self.monotonic())

    def reset_budgets(self) -> None:
        with self._lock:
            for budget in self.report_budgets.values():
                budget.reset()

    def limit_header(self, operation_id: str) -> str:
        """The x-amzn-RateLimit-Limit value: the refill rate, written as Amazon writes it."""
        rate, _ = self.plan(operation_id)
        return f"{rate:g}"
