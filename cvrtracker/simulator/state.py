"""Everything one running simulator holds in memory: world, grants, reports, quotas, faults."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from .datakiosk import QueryStore
from .faults import Counters, Faults, ReportFaults
from .lwa import AppRegistration, Grants
from .ratelimit import RateLimiter, sales_traffic_budget
from .reports import SALES_AND_TRAFFIC, ReportStore, Timings
from .world import Clock, World

__all__ = ["Simulator", "Timings", "budget_options"]


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() not in ("0", "false", "no", "off")


def budget_options(
    st_budget: bool | None = None,
    st_other_apps_per_day: int | None = None,
    st_scope: str | None = None,
) -> tuple[bool, int, str]:
    """The Sales & Traffic budget options, each from the environment when not given."""
    return (
        _env_flag("SIM_ST_BUDGET", True) if st_budget is None else st_budget,
        int(os.environ.get("SIM_ST_OTHER_APPS_PER_DAY", "0"))
        if st_other_apps_per_day is None
        else st_other_apps_per_day,
        os.environ.get("SIM_ST_SCOPE", "seller") if st_scope is None else st_scope,
    )


class Simulator:
    def __init__(
        self,
        *,
        seed: int = 42,
        sellers: int = 1,
        asins: int = 200,
        marketplaces: int | None = None,
        cvr_noise: float | None = None,
        change_rate: float | None = None,
        quota: str = "real",
        today: date | None = None,
        start_days_ago: int = 0,
        app: AppRegistration | None = None,
        grants_file: Path | None = None,
        st_budget: bool | None = None,
        st_other_apps_per_day: int | None = None,
        st_scope: str | None = None,
        report_queue_seconds: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        """Options left None come from the environment (SIM_CVR_NOISE, SIM_CHANGE_RATE,
        SIM_ST_BUDGET, SIM_ST_OTHER_APPS_PER_DAY, SIM_ST_SCOPE, SIM_REPORT_QUEUE_SECONDS);
        `monotonic` is the quota clock (tests)."""
        self.seed = seed
        self.quota = quota
        self.world = World(
            seed=seed,
            sellers=sellers,
            asins=asins,
            today=today,
            marketplaces=marketplaces,
            cvr_noise=cvr_noise,
            change_rate=change_rate,
            start_days_ago=start_days_ago,
        )
        self.app = app or AppRegistration.from_env()
        self.grants = Grants(self.app, store=grants_file)
        enabled, other_apps, scope = budget_options(st_budget, st_other_apps_per_day, st_scope)
        budgets = {}
        if enabled:
            budgets[SALES_AND_TRAFFIC] = sales_traffic_budget(
                quota, other_apps_per_day=other_apps, scope=scope
            )
        self.limiter = RateLimiter(quota, monotonic=monotonic, report_budgets=budgets)
        self.timings = Timings.for_quota(quota, report_queue_seconds)
        self.reports = ReportStore(seed, self.timings)
        self.datakiosk = QueryStore(seed)
        self.faults = Faults(seed)
        self.report_faults = ReportFaults(seed)
        self.counters = Counters()
        # Signs consent forms, document URLs and page tokens; new on every start.
        self.secret = secrets.token_bytes(32)
        self.base_url = ""

    @property
    def clock(self) -> Clock:
        return self.world.clock
