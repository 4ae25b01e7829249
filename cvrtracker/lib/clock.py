"""The tracker's one clock: every "now" and "today" that concerns Amazon data comes from here.

In production this is the system clock. Against the simulator it can follow
the simulator's clock (TRACKER_CLOCK=simulator, which `make run` sets), so that
jumping the simulator forward (POST /_sim/clock, or the replay command) moves
the tracker with it: marketplace days, due syncs, snapshots and changes all
line up with the days Amazon (the simulator) is on.

The simulator's clock runs at real speed between jumps, so what is kept is its
offset from the system clock, read from GET /_sim/clock at most once every
TRACKER_CLOCK_CACHE_SECONDS: a jump reaches every process within that time.

What is about our own process stays on the system clock (timezone.now()):
sessions, audit times, row bookkeeping, and the buckets that pace real-time
quotas (the simulator meters its quotas and the Sales & Traffic budget on
real time too, like Amazon).

Tests that run the simulator in a thread bind the clock to it directly:

    with running_simulator() as sim, clock.following(sim.world.clock.now):
        ...
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

SYSTEM = "system"
SIMULATOR = "simulator"
CHOICES = (SYSTEM, SIMULATOR)
# After a failed read, keep the last known offset and warn at most this often.
WARN_EVERY_SECONDS = 60.0

_bound: Callable[[], datetime] | None = None
_lock = threading.Lock()
_offset: timedelta | None = None  # the simulator's clock minus ours, when last read
_read_at = float("-inf")  # time.monotonic() of that read (or of the last failed one)
_warned_at = float("-inf")


def now() -> datetime:
    """The current instant (aware, UTC): the system's, or the simulator's when followed."""
    if _bound is not None:
        return _bound()
    if settings.TRACKER_CLOCK == SIMULATOR and not settings.AMAZON_PRODUCTION:
        return timezone.now() + simulator_offset()
    return timezone.now()


def today() -> date:
    """The current UTC date; use amazon.marketplaces.marketplace_today for a marketplace's."""
    return now().date()


def follows_simulator() -> bool:
    """True when now() is the simulator's clock (never against Amazon), or bound to one."""
    if _bound is not None:
        return True
    return settings.TRACKER_CLOCK == SIMULATOR and not settings.AMAZON_PRODUCTION


@contextmanager
def following(source: Callable[[], datetime] | None) -> Iterator[None]:
    """Within the block, now() is `source()` (an in-process simulator's world.clock.now)."""
    global _bound
    previous, _bound = _bound, source
    try:
        yield
    finally:
        _bound = previous


def forget() -> None:
    """Drop the cached offset: the next now() reads the simulator's clock again (after a jump)."""
    global _read_at
    with _lock:
        _read_at = float("-inf")


def simulator_offset() -> timedelta:
    """How far the simulator's clock is ahead of ours, read at most once per cache period.

    When the simulator cannot be read, the last offset read is kept (none yet: 0),
    with a warning: its clock only jumps when told, so the last offset is the best guess.
    """
    global _offset, _read_at, _warned_at
    moment = time.monotonic()
    with _lock:
        if moment - _read_at < settings.TRACKER_CLOCK_CACHE_SECONDS and _offset is not None:
            return _offset
        # One reader at a time; the others wait for its answer rather than ask too.
        try:
            _offset = _read_offset()
        except (OSError, ValueError, KeyError) as error:
            if moment - _warned_at >= WARN_EVERY_SECONDS:
                _warned_at = moment
                logger.warning("The simulator's clock could not be read (%s)", error)
        _read_at = moment
        return _offset or timedelta(0)


def clock_url() -> str:
    return settings.AMAZON_SPAPI_URLS["NA"].rstrip("/") + "/_sim/clock"


def _read_offset() -> timedelta:
    # httpx is imported when the simulator's clock is first read, not with every
    # process: it is ~19 MB of memory a web process running on the real clock never needs.
    import httpx

    before = timezone.now()
    try:
        answer = _client(settings.AMAZON_CA_FILE).get(clock_url())
        answer.raise_for_status()
    except httpx.HTTPError as error:
        raise OSError(f"{type(error).__name__}: {error}") from error
    after = timezone.now()
    simulated = datetime.fromtimestamp(float(answer.json()["epoch"]), tz=UTC)
    return simulated - (before + (after - before) / 2)


_clients: dict[str, httpx.Client] = {}


def _client(ca_file: str) -> httpx.Client:
    from cvrtracker.lib.tls import http_client

    client = _clients.get(ca_file)
    if client is None:
        client = _clients[ca_file] = http_client(ca_file=ca_file, timeout=2.0)
    return client
