"""Orders through Orders 2026-01-01 searchOrders, incrementally by lastUpdatedAfter.

The cursor (SyncJob.cursor) holds the watermark of the last complete run and,
during a run, the page reached: a run cut short by the quota (searchOrders
refills one call every three minutes) or by a crash resumes where it stopped.
Order and item upserts are idempotent, so a page stored twice changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from cvrtracker.amazon.client import QuotaWait
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.services import connection_client
from cvrtracker.amazon.sync.sales_traffic import marketplace_ids
from cvrtracker.amazon.sync.schedule import JobPaused
from cvrtracker.metrics.orders import orders_upsert


def orders_sync(*, job: SyncJob) -> int:
    """Store orders updated since the watermark; returns how many were written.

    JobPaused when the quota ran out mid-run or after a slice of pages (the
    cursor keeps the page).
    """
    connection = job.connection
    api = connection_client(connection=connection)
    markets = marketplace_ids(connection)
    if not markets:
        return 0
    cursor = dict(job.cursor)
    if not cursor.get("after"):
        first = timezone.now() - timedelta(days=settings.AMAZON_ORDERS_INITIAL_DAYS)
        cursor["after"] = first.strftime("%Y-%m-%dT%H:%M:%SZ")
    written = pages = 0
    while True:
        try:
            page = api.search_orders(
                marketplace_ids=markets,
                last_updated_after=None if cursor.get("page") else cursor["after"],
                pagination_token=cursor.get("page"),
                quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS,
            )
        except QuotaWait as wait:
            _save(job, cursor)
            raise JobPaused(wait.retry_after) from None
        written += orders_upsert(connection=connection, orders=page.get("orders") or [])
        # Amazon answers with the upper bound it used; it becomes the next watermark.
        cursor["before"] = page.get("lastUpdatedBefore") or cursor.get("before")
        token = (page.get("pagination") or {}).get("nextToken")
        if not token:
            break
        cursor["page"] = token
        _save(job, cursor)
        pages += 1
        if pages >= settings.AMAZON_JOB_PAGES_PER_RUN:
            raise JobPaused()
    _save(job, {"after": cursor.get("before") or cursor["after"]})
    return written


def _save(job: SyncJob, cursor: dict) -> None:
    job.cursor = cursor
    SyncJob.objects.filter(pk=job.pk).update(cursor=cursor)
