"""Sales & Traffic: the two-year backfill plan and the report state machine.

Amazon aggregates the by-ASIN section of GET_SALES_AND_TRAFFIC_REPORT over the
whole requested range, with no date, so daily per-ASIN figures need one
CHILD-granularity DAY report per day and marketplace. One more report, by date
over the whole two years, gives the account chart within a minute of connecting.

Each request is a SalesTrafficDay row that moves
    due → requested → done | cancelled (no data) | fatal/failed (retried later)
one step per job, so a worker never sleeps on Amazon's queue and a crash at any
point leaves a row that the scheduler brings back. The document is parsed whole
before the first write, and stored with the row's "done" in one transaction:
a corrupt document or a killed worker commits nothing partial.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cvrtracker.amazon.client import AmazonError, CorruptDocument, QuotaWait, SpApiClient
from cvrtracker.amazon.models import SalesTrafficDay, SellerConnection
from cvrtracker.amazon.services import connection_client
from cvrtracker.amazon.sync.schedule import retry_delay
from cvrtracker.metrics.report import ReportFormatError, parse_sales_traffic
from cvrtracker.metrics.services import metrics_ingest_account_series, metrics_ingest_day

logger = logging.getLogger(__name__)

REPORT_TYPE = "GET_SALES_AND_TRAFFIC_REPORT"
Status = SalesTrafficDay.Status
Kind = SalesTrafficDay.Kind
# Statuses that mean "ask Amazon for a (new) report when due".
TO_REQUEST = (Status.DUE, Status.FATAL, Status.FAILED)
# Statuses of a day already fetched (with data or without).
FINISHED = (Status.DONE, Status.CANCELLED)
REPORT_GONE = "Amazon no longer had the report; asked for a new one"


def quota_retry(wait: QuotaWait) -> timedelta:
    """When to come back for a token: when our bucket will have one."""
    return timedelta(seconds=max(0.5, wait.retry_after))


def marketplace_ids(connection: SellerConnection) -> list[str]:
    return [m["id"] for m in connection.marketplaces if m.get("isParticipating", True)]


def reporting_today() -> date:
    """Amazon's reports count UTC days; today is incomplete and never requested."""
    return timezone.now().date()


def sales_traffic_plan(*, connection: SellerConnection) -> int:
    """Create the backfill rows (once) and mark the restatement window due again.

    Returns how many rows were created. Idempotent: the rows are unique per
    (connection, marketplace, kind, day), and a day already re-pulled today is
    not marked again.
    """
    today, now = reporting_today(), timezone.now()
    depth = settings.AMAZON_BACKFILL_DAYS
    created = 0
    for market in marketplace_ids(connection):
        rows = [
            SalesTrafficDay(
                connection=connection,
                marketplace_id=market,
                kind=Kind.DAY,
                day=today - timedelta(days=offset),
                next_attempt_at=now,
            )
            for offset in range(1, depth + 1)
        ]
        rows.append(
            SalesTrafficDay(
                connection=connection,
                marketplace_id=market,
                kind=Kind.SERIES,
                day=today - timedelta(days=depth),
                end_day=today - timedelta(days=1),
                next_attempt_at=now,
            )
        )
        before = SalesTrafficDay.objects.filter(connection=connection, marketplace_id=market)
        count = before.count()
        SalesTrafficDay.objects.bulk_create(rows, ignore_conflicts=True)
        created += before.count() - count
        # Amazon restates recent days, and traffic arrives days after sales: every
        # day of the trailing window is pulled again once a day.
        start_of_today = datetime.combine(today, time.min, tzinfo=now.tzinfo)
        SalesTrafficDay.objects.filter(
            connection=connection,
            marketplace_id=market,
            kind=Kind.DAY,
            day__gte=today - timedelta(days=settings.AMAZON_RESTATE_DAYS),
            status__in=FINISHED,
            fetched_at__lt=start_of_today,
        ).update(status=Status.DUE, next_attempt_at=now, attempts=0, report_id="")
    return created


def due_to_request(*, connection: SellerConnection, now: datetime):
    """Rows waiting for a createReport, in the order to ask: series first, newest day next."""
    return (
        SalesTrafficDay.objects.filter(
            connection=connection, status__in=TO_REQUEST, next_attempt_at__lte=now
        )
        .order_by("-kind", "-day")  # "series" sorts after "day": descending puts it first
        .values_list("id", "next_attempt_at")
    )


def sales_traffic_advance(*, item: SalesTrafficDay) -> str:
    """Move one report request one step; returns its status afterwards.

    AmazonError when a call failed (after the client's own retries); the task
    records it and reschedules.
    """
    api = connection_client(connection=item.connection)
    if item.status in TO_REQUEST:
        _request(api, item)
    elif item.status == Status.REQUESTED:
        _poll(api, item)
    return item.status


def _range(item: SalesTrafficDay) -> tuple[str, str, dict[str, str]]:
    end = item.end_day or item.day
    # Whole UTC days: Amazon ignores the time of day for this report.
    options = {
        "dateGranularity": "DAY",
        "asinGranularity": "CHILD" if item.kind == Kind.DAY else "PARENT",
    }
    return f"{item.day.isoformat()}T00:00:00Z", f"{end.isoformat()}T23:59:59Z", options


def _save(item: SalesTrafficDay, **fields: object) -> None:
    for name, value in fields.items():
        setattr(item, name, value)
    item.save(update_fields=list(fields))


def _request(api: SpApiClient, item: SalesTrafficDay) -> None:
    start, end, options = _range(item)
    try:
        report_id = api.create_report(
            report_type=REPORT_TYPE,
            marketplace_ids=[item.marketplace_id],
            start=start,
            end=end,
            options=options,
            quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS,
        )
    except QuotaWait as wait:
        _save(item, next_attempt_at=timezone.now() + quota_retry(wait))
        return
    now = timezone.now()
    _save(
        item,
        status=Status.REQUESTED,
        report_id=report_id,
        requested_at=now,
        next_attempt_at=now + timedelta(seconds=settings.AMAZON_REPORT_POLL_SECONDS),
    )


def _poll(api: SpApiClient, item: SalesTrafficDay) -> None:
    try:
        report = api.get_report(item.report_id)
    except AmazonError as error:
        if error.status != 404:
            raise
        # Amazon no longer knows the report (expired, or a simulator restarted):
        # polling it again would never end, asking again will.
        sales_traffic_retry_later(item=item, status=Status.FAILED, reason=REPORT_GONE)
        return
    status = report.get("processingStatus")
    now = timezone.now()
    if status in ("IN_QUEUE", "IN_PROGRESS"):
        waited = (now - (item.requested_at or now)).total_seconds()
        if status == "IN_QUEUE" and waited > settings.AMAZON_REPORT_STUCK_SECONDS:
            # It may have started meanwhile; the new request replaces it anyway.
            with contextlib.suppress(AmazonError):
                api.cancel_report(item.report_id)
            sales_traffic_retry_later(item=item, status=Status.FAILED, reason="stuck in queue")
            return
        poll = timedelta(seconds=settings.AMAZON_REPORT_POLL_SECONDS)
        _save(item, next_attempt_at=now + poll)
    elif status == "CANCELLED":
        # Amazon cancels a report with nothing to return: that is a day without data.
        _save(
            item,
            status=Status.CANCELLED,
            fetched_at=now,
            is_pending=False,
            next_attempt_at=None,
            attempts=0,
            last_error="",
        )
        _mark_synced(item.connection, now)
    elif status == "FATAL":
        sales_traffic_retry_later(item=item, status=Status.FATAL, reason="Amazon: FATAL")
    elif status == "DONE":
        _fetch(api, item, report["reportDocumentId"])
    else:
        raise AmazonError(f"getReport: unknown processingStatus {status}", permanent=False)


def _fetch(api: SpApiClient, item: SalesTrafficDay, document_id: str) -> None:
    try:
        document = api.get_report_document(
            document_id, quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS
        )
    except QuotaWait as wait:
        _save(item, next_attempt_at=timezone.now() + quota_retry(wait))
        return
    except CorruptDocument as error:
        sales_traffic_retry_later(item=item, status=Status.FAILED, reason=_short(error))
        return
    except AmazonError as error:
        if error.status != 404:
            raise
        sales_traffic_retry_later(item=item, status=Status.FAILED, reason=REPORT_GONE)
        return
    try:
        # Parsed whole before anything is written: a bad document stores nothing.
        report = parse_sales_traffic(document)
    except ReportFormatError as error:
        logger.warning("Sales & Traffic %s %s: %s", item.kind, item.day, error)
        sales_traffic_retry_later(item=item, status=Status.FAILED, reason=_short(error))
        return
    # A 50,000-ASIN day is ~26 MB of JSON: let it go before the blocks are written.
    del document
    now = timezone.now()
    with transaction.atomic():
        connection = item.connection
        if item.kind == Kind.SERIES:
            metrics_ingest_account_series(
                connection=connection, marketplace_id=item.marketplace_id, report=report
            )
        else:
            metrics_ingest_day(
                connection=connection,
                marketplace_id=item.marketplace_id,
                day=item.day,
                report=report,
            )
        # Only a row still holding this report is finished: a plan that marked
        # the day due again meanwhile wins.
        finished = SalesTrafficDay.objects.filter(
            pk=item.pk, status=Status.REQUESTED, report_id=item.report_id
        ).update(
            status=Status.DONE,
            fetched_at=now,
            is_pending=report.pending,
            next_attempt_at=None,
            attempts=0,
            last_error="",
        )
        if finished:
            _mark_synced(connection, now)
    item.refresh_from_db()


def sales_traffic_retry_later(*, item: SalesTrafficDay, status: str, reason: str) -> None:
    """Give up on this report for now; a new one is requested after a backoff."""
    attempts = item.attempts + 1
    _save(
        item,
        status=status,
        attempts=attempts,
        report_id="",
        next_attempt_at=timezone.now() + retry_delay(attempts),
        last_error=reason[:300],
    )


def _mark_synced(connection: SellerConnection, now: datetime) -> None:
    SellerConnection.objects.filter(pk=connection.pk).filter(
        Q(sales_traffic_synced_at__lt=now) | Q(sales_traffic_synced_at=None)
    ).update(sales_traffic_synced_at=now)


def _short(error: Exception) -> str:
    if isinstance(error, CorruptDocument):
        return "The report document was damaged (not valid gzip); asked again later"
    return f"The report document was not a valid report ({error})"[:300]
