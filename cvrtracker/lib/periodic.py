"""Periodic jobs any app registers and the scheduler process runs (manage.py scheduler).

Periodic work has one home: apps register their jobs in `AppConfig.ready()`
(`periodic_register(name=..., function=..., every_seconds=...)`) and the scheduler
loop calls `PeriodicRunner.run_due()` between its ticks, so the scheduler imports
no app above it. Several schedulers may run: every job must be idempotent (claim
its rows with a conditional update, or store by unique key).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    function: Callable[[], object]
    every_seconds: float


_jobs: dict[str, PeriodicJob] = {}


def periodic_register(*, name: str, function: Callable[[], object], every_seconds: float) -> None:
    """Run `function()` about every `every_seconds` (first on the scheduler's first tick);
    registering a name again replaces it."""
    _jobs[name] = PeriodicJob(name, function, float(every_seconds))


def periodic_jobs() -> list[PeriodicJob]:
    return list(_jobs.values())


class PeriodicRunner:
    """Remembers, per process, when each job last ran."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._last: dict[str, float] = {}

    def run_due(self) -> int:
        """Run every job whose interval has passed; a failing job is logged and the
        others still run. Returns how many ran."""
        ran = 0
        for job in periodic_jobs():
            now = self._clock()
            last = self._last.get(job.name)
            if last is not None and now - last < job.every_seconds:
                continue
            self._last[job.name] = now
            ran += 1
            try:
                job.function()
            except Exception:
                logger.exception("periodic job %s failed", job.name)
        return ran
