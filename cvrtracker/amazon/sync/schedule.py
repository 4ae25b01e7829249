"""The schedule is data: due timestamps, claimed with conditional updates.

Every due column is polled by the scheduler (amazon/management/commands/
scheduler.py) and claimed by moving it forward by a lease: if the worker dies,
the lease runs out and the item is claimed again, so a crash delays work and
never loses it. Two schedulers cannot claim the same item: the update only
matches the value they both read, and only one of them changes it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Model

from cvrtracker.amazon.models import SyncJob
from cvrtracker.lib import clock

# How often each kind of data is refreshed once it is complete; listings: see interval().
INTERVALS = {
    SyncJob.Kind.INVENTORY: timedelta(hours=1),
    SyncJob.Kind.ORDERS: timedelta(minutes=30),
}
# The daily connection sync: marketplaces, the report plan, the restatement window.
CONNECTION_INTERVAL = timedelta(days=1)
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=6)


class JobPaused(Exception):  # noqa: N818 - a signal to the task, not a failure
    """A run stops at a page boundary with its cursor saved, to go on `retry_after` s later.

    Raised when the quota ran out, or after AMAZON_JOB_PAGES_PER_RUN pages so that
    a 50,000-product listings run never holds a worker for long: report steps
    and other sellers get their turn in between.
    """

    def __init__(self, retry_after: float = 0.0):
        super().__init__(f"paused, again in {retry_after:.0f} s")
        self.retry_after = retry_after


# searchCatalogItems: 20 ASINs a call, 2 calls a second sustained (ratelimit.py).
CATALOG_ITEMS_PER_SECOND = 20 * 2


def interval(kind: str, *, tracked: int = 0) -> timedelta:
    """Time from the end of a `kind` run to the start of the next one.

    Listings follow LISTINGS_SWEEP_MINUTES: the sweep is what finds content
    changes, so its interval bounds how late a change is seen (and alerted). A
    catalogue of `tracked` listings whose sweeps would take more than
    LISTINGS_SWEEP_QUOTA_SHARE of the Catalog Items quota at that pace waits longer.
    """
    if kind == SyncJob.Kind.LISTINGS:
        return listings_sweep_interval(tracked)
    return INTERVALS[kind]


def listings_sweep_interval(tracked: int) -> timedelta:
    """The pause between two listings sweeps of a catalogue of `tracked` listings."""
    quota_seconds = tracked / CATALOG_ITEMS_PER_SECOND / settings.LISTINGS_SWEEP_QUOTA_SHARE
    return max(timedelta(minutes=settings.LISTINGS_SWEEP_MINUTES), timedelta(seconds=quota_seconds))


def listings_sweep_words(tracked: int = 0) -> str:
    """The listings sweep interval as the settings page says it: "hour", "90 minutes"."""
    minutes = max(1, round(listings_sweep_interval(tracked).total_seconds() / 60))
    if minutes % 60:
        return f"{minutes} minutes"
    return "hour" if minutes == 60 else f"{minutes // 60} hours"


def lease() -> timedelta:
    return timedelta(seconds=settings.AMAZON_JOB_LEASE_SECONDS)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter for a job that failed `attempts` times in a row."""
    base = min(RETRY_CAP.total_seconds(), RETRY_BASE.total_seconds() * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not secret


def claim(model: type[Model], pk: int, field: str, old: datetime | None) -> str | None:
    """Move `field` of row `pk` from `old` to now + lease; the claim token when this caller won.

    The token (the new due value) goes to the task, which runs only if the row
    still holds it: a task queued before a crash and run after the item was
    claimed again (or finished) is stale, and does nothing.
    """
    until = clock.now() + lease()
    if model.objects.filter(pk=pk, **{field: old}).update(**{field: until}) != 1:
        return None
    return until.isoformat()


def holds_claim(model: type[Model], pk: int, field: str, token: str | None) -> bool:
    """True when row `pk` is still claimed by `token` (None: called directly, no claim)."""
    if token is None:
        return True
    return model.objects.filter(pk=pk, **{field: datetime.fromisoformat(token)}).exists()


def save_fields(row: Model, **fields: object) -> None:
    """Set `fields` on a step row and write only those columns."""
    for name, value in fields.items():
        setattr(row, name, value)
    row.save(update_fields=list(fields))
