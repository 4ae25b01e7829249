"""Orders through Orders 2026-01-01 searchOrders, incrementally by lastUpdatedAfter.

The cursor (SyncJob.cursor) holds `after`, the watermark of the last complete
run, and during a run the window in progress: `params` (the first page's
parameters), `page` (the next page's token) and `before` (the upper bound
Amazon echoed). A run cut short by the quota (searchOrders refills one call
every three minutes) or by a crash resumes where it stopped.

Amazon wants every original parameter again with a paginationToken, and the
token dies after 24 hours (the model's Pagination; models#5144), so `params`
are resent with every token; a refused token restarts the window from `after`.
Windows overlap by AMAZON_ORDERS_OVERLAP_SECONDS: an order updated right at
the boundary is fetched twice rather than never. Order and item upserts are
idempotent and skip older updates, so a page stored twice changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings

from cvrtracker.amazon.client import QuotaWait, StalePaginationToken, search_orders_params
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.services import connection_client
from cvrtracker.amazon.sync.sales_traffic import marketplace_ids
from cvrtracker.amazon.sync.schedule import JobPaused
from cvrtracker.lib import clock
from cvrtracker.metrics.orders import orders_upsert

logger = logging.getLogger(__name__)


def orders_sync(*, job: SyncJob) -> int:
    """Store orders updated since the watermark; returns how many were written.

    JobPaused when the quota ran out mid-run or after a slice of pages (the
    cursor keeps the window and its page).
    """
    connection = job.connection
    api = connection_client(connection=connection)
    markets = marketplace_ids(connection)
    if not markets:
        return 0
    cursor = dict(job.cursor)
    if not cursor.get("after"):
        first = clock.now() - timedelta(days=settings.AMAZON_ORDERS_INITIAL_DAYS)
        cursor["after"] = _iso(first)
    if not cursor.get("params"):
        # A new window (or a cursor from before parameters were kept: its token is useless).
        cursor = orders_window(cursor["after"], markets)
    written = pages = 0
    while True:
        try:
            page = api.search_orders(
                params=cursor["params"],
                pagination_token=cursor.get("page"),
                quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS,
            )
        except QuotaWait as wait:
            _save(job, cursor)
            raise JobPaused(wait.retry_after) from None
        except StalePaginationToken:
            # The token expired (24 h) or no longer matches: what it would have
            # given is still after `after`, so the window starts again from there.
            logger.info("Orders job %s: pagination token refused, window restarted", job.pk)
            cursor = orders_window(cursor["after"], markets)
            _save(job, cursor)
            pages += 1
            if pages >= settings.AMAZON_JOB_PAGES_PER_RUN:
                raise JobPaused() from None
            continue
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


def orders_window(after: str, markets: list[str]) -> dict:
    """A fresh cursor for the window after the watermark `after`, overlapping it a little."""
    start = datetime.fromisoformat(after.replace("Z", "+00:00"))
    start -= timedelta(seconds=settings.AMAZON_ORDERS_OVERLAP_SECONDS)
    params = search_orders_params(marketplace_ids=markets, last_updated_after=_iso(start))
    return {"after": after, "params": params}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _save(job: SyncJob, cursor: dict) -> None:
    job.cursor = cursor
    SyncJob.objects.filter(pk=job.pk).update(cursor=cursor)
