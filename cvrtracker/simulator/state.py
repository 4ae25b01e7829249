"""Everything one running simulator holds in memory: world, grants, reports, quotas, faults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .faults import Counters, Faults
from .lwa import AppRegistration, Grants
from .ratelimit import RateLimiter
from .reports import ReportStore
from .world import Clock, World


@dataclass(frozen=True)
class Timings:
    """How long reports sit IN_QUEUE and IN_PROGRESS, in simulated seconds."""

    queue_seconds: float
    work_seconds: float

    @classmethod
    def for_quota(cls, quota: str) -> Timings:
        queue, work = ("0.2", "0.3") if quota == "relaxed" else ("5", "10")
        return cls(
            float(os.environ.get("SIM_REPORT_QUEUE_SECONDS", queue)),
            float(os.environ.get("SIM_REPORT_WORK_SECONDS", work)),
        )


class Simulator:
    def __init__(
        self,
        *,
        seed: int = 42,
        sellers: int = 1,
        asins: int = 200,
        marketplaces: int | None = None,
        quota: str = "real",
        today: date | None = None,
        app: AppRegistration | None = None,
        grants_file: Path | None = None,
    ):
        self.seed = seed
        self.quota = quota
        self.world = World(
            seed=seed, sellers=sellers, asins=asins, today=today, marketplaces=marketplaces
        )
        self.app = app or AppRegistration.from_env()
        self.grants = Grants(self.app, store=grants_file)
        self.limiter = RateLimiter(quota)
        self.reports = ReportStore(seed)
        self.faults = Faults(seed)
        self.counters = Counters()
        self.timings = Timings.for_quota(quota)
        # Signs consent forms, document URLs and page tokens; new on every start.
        self.secret = secrets.token_bytes(32)
        self.base_url = ""

    @property
    def clock(self) -> Clock:
        return self.world.clock
