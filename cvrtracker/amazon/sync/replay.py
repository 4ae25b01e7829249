"""The replay: live through the simulator's past days with the real sync code, a day at a time.

A simulator started in the past (amazonsim --start-days-ago N, SIM_REPLAY_DAYS)
shows a clock N days behind its present. The replay moves that clock to late in
each day, `margin` before the earliest local midnight among the seller's
marketplaces (so the sync sees every marketplace's day nearly whole), and runs
synchronously what the scheduler would have made due by then: the daily
connection sync and the listings and inventory jobs (orders on request: their
quota makes 90 days of them slow). Change detection happens inside the listings
run (listing_record_snapshot), so the replay builds the listing history by
itself. Once the clock has reached the present, the connection sync runs once
more with the metrics plans: Data Kiosk then backfills two years up to
yesterday and Sales & Traffic takes the recent days, live. Those reports are
not replayed day by day: Amazon (and the simulator) meter the Sales & Traffic
budget on real time, one request per 15 minutes (9 s when relaxed), so 90
days of them would take hours.

The tracker's clock must follow the simulator's (TRACKER_CLOCK=simulator, or
clock.following in tests), else the days would not move. The replay never runs
against Amazon: it refuses AMAZON_PRODUCTION and any Amazon URL off loopback.
It must not race the scheduler's workers for the same connections: `make run`
starts them once the replay is over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from cvrtracker.amazon.client import AmazonError, http
from cvrtracker.amazon.marketplaces import day_start, marketplace_day
from cvrtracker.amazon.models import LISTED, SellerConnection, SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync, sync_job_run
from cvrtracker.amazon.sync.sales_traffic import marketplace_ids
from cvrtracker.amazon.sync.schedule import JobPaused, retry_delay
from cvrtracker.impact.measured import MEASURED_FIELDS
from cvrtracker.impact.services import impact_refresh
from cvrtracker.lib import clock
from cvrtracker.lib.hosts import host_is_loopback
from cvrtracker.listings.models import ListingChange

logger = logging.getLogger(__name__)

MARGIN = timedelta(minutes=30)
# A job that keeps failing is left for the next day (its backoff is recorded on it).
JOB_ATTEMPTS = 3
DAY_JOBS = (SyncJob.Kind.LISTINGS, SyncJob.Kind.INVENTORY)
# A report being made at the present is looked at again this often (not the 2 s poll).
PRESENT_POLL_SECONDS = 0.25


class ReplayRefused(Exception):
    """The replay would not run against a simulator (production settings, a remote URL)."""


@dataclass
class SimulatorClock:
    """The simulator's clock through its control API (loopback only)."""

    base_url: str

    def read(self) -> dict:
        # nosemgrep: cvrt-spapi-call-outside-client (the simulator's clock)
        return self._answer(http().get(f"{self.base_url}/_sim/clock"))

    def advance(self, seconds: float) -> dict:
        body = {"seconds": max(0.0, seconds)}
        # nosemgrep: cvrt-spapi-call-outside-client (the simulator's clock)
        return self._answer(http().post(f"{self.base_url}/_sim/clock", json=body))

    def now(self) -> datetime:
        return _instant(self.read()["epoch"])

    def present(self) -> datetime:
        """Where the clock catches up: it moves on at real speed while the replay runs."""
        return _instant(self.read()["presentEpoch"])

    @staticmethod
    def _answer(response: httpx.Response) -> dict:
        response.raise_for_status()
        return response.json()


def simulator_clock() -> SimulatorClock:
    """The control API of the simulator our Amazon settings point at.

    ReplayRefused with AMAZON_PRODUCTION, or when an Amazon URL is not on loopback:
    a replay moves Amazon's clock, which only a simulator has.
    """
    if settings.AMAZON_PRODUCTION:
        raise ReplayRefused("AMAZON_PRODUCTION is set: the replay never runs against Amazon.")
    urls = [*settings.AMAZON_SPAPI_URLS.values(), settings.AMAZON_LWA_TOKEN_URL]
    remote = [url for url in urls if not _loopback(url)]
    if remote:
        raise ReplayRefused(
            f"{remote[0]} is not a simulator on this machine: the replay runs only "
            "against the local simulator."
        )
    return SimulatorClock(settings.AMAZON_SPAPI_URLS["NA"].rstrip("/"))


def _loopback(url: str) -> bool:
    return host_is_loopback(urlsplit(url).hostname)


def _instant(epoch: float) -> datetime:
    return datetime.fromtimestamp(float(epoch), tz=UTC)


@dataclass
class ReplayResult:
    days: list[date] = field(default_factory=list)
    # The simulator's clock when the replay began and when it ended (its present).
    started_at: datetime | None = None
    ended_at: datetime | None = None
    failures: int = 0


def connections_replay(
    *,
    connections: list[SellerConnection],
    days: int | None = None,
    orders: bool = False,
    margin: timedelta = MARGIN,
    progress: Callable[[date, datetime], None] | None = None,
) -> ReplayResult:
    """Move the simulator's clock from where it is (or `days` before its present) to its
    present a day at a time, syncing `connections` late in each day; returns what it did.

    A connection synced later than the simulator's clock (a restarted simulator) is not
    synced before that time again: the replay starts there. ReplayRefused as
    simulator_clock(), or when the tracker's clock does not follow the simulator's.
    """
    sim = simulator_clock()
    if not clock.follows_simulator():
        raise ReplayRefused(
            "The tracker's clock does not follow the simulator's: set TRACKER_CLOCK=simulator."
        )
    state = sim.read()
    present = _instant(state["presentEpoch"])
    result = ReplayResult(started_at=_instant(state["epoch"]))
    start = result.started_at
    if days is not None:
        start = max(start, present - timedelta(days=days))
    start = max([start, *filter(None, (_last_synced(c) for c in connections))])
    _advance_to(sim, min(start, present))
    markets = _evening_markets(connections)
    day = min(marketplace_day(m, clock.now()) for m in markets) - timedelta(days=1)
    while True:
        day += timedelta(days=1)
        # The first listings run tells the sites where nothing is listed (Brazil, often).
        markets = _evening_markets(connections)
        evening = min(day_start(m, day + timedelta(days=1)) for m in markets) - margin
        if evening <= clock.now():
            continue
        if evening >= present:
            break
        _advance_to(sim, evening)
        for connection in connections:
            result.failures += _run_due(connection, sim, present, orders, plan_metrics=False)
        result.days.append(day)
        if progress:
            progress(day, clock.now())
    _advance_to(sim, sim.present())
    for connection in connections:
        # At the present: the metrics plans too, and everything due.
        connection.refresh_from_db()
        if connection.is_active:
            try:
                connection_sync(connection=connection)
            except AmazonError as error:
                logger.warning("Replay: the sync of %s failed: %s", connection.code, error)
                result.failures += 1
        result.failures += _run_due(connection, sim, present, orders, plan_metrics=True)
        _measure(connection)
    result.ended_at = clock.now()
    return result


def _measure(connection: SellerConnection) -> None:
    """The impacts of the changes the replay saw, from the metrics stored so far (the
    sync measures again as each new metrics day arrives)."""
    markets = (
        ListingChange.objects.filter(connection=connection, field__in=MEASURED_FIELDS)
        .values_list("marketplace_id", flat=True)
        .distinct()
    )
    for market in sorted(set(markets)):
        impact_refresh(connection=connection, marketplace_id=market)


def _advance_to(sim: SimulatorClock, moment: datetime) -> None:
    """Jump the simulator's clock to `moment` (never back) and let ours follow at once."""
    seconds = (moment - sim.now()).total_seconds()
    if seconds > 0:
        sim.advance(seconds)
    clock.forget()


def _last_synced(connection: SellerConnection) -> datetime | None:
    """The last time the tracker read this seller's listings or stock (None: never)."""
    times = [
        connection.listings_synced_at,
        connection.inventory_synced_at,
        connection.orders_synced_at,
    ]
    return max((t for t in times if t), default=None)


def _evening_markets(connections: list[SellerConnection]) -> list[str]:
    """The marketplaces whose midnights bound a replayed day: where the sellers list
    something (or may: before their first listings run)."""
    markets = []
    for connection in connections:
        connection.refresh_from_db()
        listed = {m.get("id"): m.get(LISTED) for m in connection.marketplaces}
        markets += [m for m in marketplace_ids(connection) if listed.get(m) != 0]
    return sorted(set(markets)) or ["ATVPDKIKX0DER"]


def _run_due(
    connection: SellerConnection,
    sim: SimulatorClock,
    present: datetime,
    orders: bool,
    *,
    plan_metrics: bool,
) -> int:
    """What the scheduler would run for `connection` now; returns the jobs that failed."""
    connection.refresh_from_db()
    if not connection.is_active:
        return 0
    now = clock.now()
    if connection.next_sync_at and connection.next_sync_at <= now:
        try:
            connection_sync(connection=connection, plan_metrics=plan_metrics)
        except AmazonError as error:
            logger.warning("Replay: the sync of %s failed: %s", connection.code, error)
            return 1
    kinds = [*DAY_JOBS, SyncJob.Kind.ORDERS] if orders else list(DAY_JOBS)
    failures = 0
    # After the connection sync: the jobs it made due are due now.
    jobs = SyncJob.objects.filter(
        connection=connection, kind__in=kinds, next_run_at__lte=clock.now()
    )
    for job in jobs.order_by("kind"):
        failures += not _run_job(job, sim, present, plan_metrics=plan_metrics)
    return failures


def _run_job(job: SyncJob, sim: SimulatorClock, present: datetime, *, plan_metrics: bool) -> bool:
    """Run the job to its end, as the scheduler would bring it back after each pause;
    False when it failed JOB_ATTEMPTS times (recorded on the job, due again later)."""
    attempts = 0
    while True:
        job = SyncJob.objects.select_related("connection").get(pk=job.pk)
        try:
            sync_job_run(job=job, plan_metrics=plan_metrics)
            return True
        except JobPaused as paused:
            _wait(sim, present, paused.retry_after)
        except AmazonError as error:
            attempts += 1
            if error.permanent or attempts >= JOB_ATTEMPTS:
                logger.warning("Replay: the %s job of %s failed: %s", job.kind, job.pk, error)
                SyncJob.objects.filter(pk=job.pk).update(
                    attempts=job.attempts + 1,
                    last_error=str(error)[:300],
                    next_run_at=clock.now() + retry_delay(job.attempts + 1),
                )
                return False


def _wait(sim: SimulatorClock, present: datetime, seconds: float) -> None:
    """A pause of the job (a report being made): the simulated clock moves on instead of
    us sleeping, except where that would pass the present."""
    if seconds <= 0:
        return
    target = clock.now() + timedelta(seconds=seconds)
    if target < present:
        _advance_to(sim, target)
    else:
        # At the present the clock runs at its own (real) pace: look again soon.
        time.sleep(min(seconds, PRESENT_POLL_SECONDS))
