"""Data Kiosk: two years of per-ASIN daily history without 730 one-day reports.

A one-day CHILD Sales & Traffic report per day would spend 730 of the report type's
96 daily requests per marketplace (since 2026-04-24: 1 per 15 min, 96 per day,
models#5210; ../shared/reference/sp-api-semantics.md §0 item 1). Data Kiosk's
`salesAndTrafficTrends` (dateAggregation DAY, asinAggregation CHILD) gives daily
values per child ASIN for "up to 30 child ASINs" per marketplace filter, and
`salesAndTrafficByDate` (DAY) the account series (schema
datakiosk-schema_analytics_salesAndTraffic_2024-04-24.graphql; changelog 2025-08-27).
Its own quotas (createQuery 0.0167/s burst 15, getQuery 2/s burst 15, getDocument
0.0167/s burst 15, dataKiosk_2023-11-15.json) are separate from the report budget.

The plan is DataKioskQuery rows, per marketplace: one by-date query over the two
years, and one trends query per chunk of known ASINs (from the stored listings);
ASINs that appear later get chunks of their own. Each row moves one step per task:
    due → requested (createQuery) → polled (getQuery) → done (getDocument, ingest)
                                                      → failed / fatal (asked again later)
A document is parsed whole before anything is written and stored in one
transaction with the row's "done": a cut document stores nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction

from cvrtracker.amazon.client import (
    AmazonError,
    CorruptDocument,
    QuotaWait,
    RevokedAuthorization,
    SpApiClient,
)
from cvrtracker.amazon.marketplaces import MARKETPLACES, marketplace_today
from cvrtracker.amazon.models import DataKioskQuery, SellerConnection
from cvrtracker.amazon.services import connection_client
from cvrtracker.amazon.sync.sales_traffic import listed_marketplace_ids, quota_retry
from cvrtracker.amazon.sync.schedule import retry_delay
from cvrtracker.amazon.sync.schedule import save_fields as _save
from cvrtracker.impact.tasks import derive_and_measure
from cvrtracker.lib import clock
from cvrtracker.listings.tasks import derive_listing_changes
from cvrtracker.metrics.datakiosk import by_date_query, parse_by_date, parse_trends, trends_query
from cvrtracker.metrics.report import ReportFormatError
from cvrtracker.metrics.services import metrics_ingest_account_days, metrics_merge_asin_days

logger = logging.getLogger(__name__)

Status = DataKioskQuery.Status
Kind = DataKioskQuery.Kind
TO_REQUEST = (Status.DUE, Status.FAILED, Status.FATAL)
# "Each filter represents a single marketplace and can include up to 30 child ASINs."
ASINS_PER_FILTER = 30


def _chunk_key(asins: list[str]) -> str:
    return hashlib.sha256(",".join(sorted(asins)).encode()).hexdigest()


def known_asins(connection: SellerConnection, marketplace_id: str) -> list[str]:
    """Child ASINs of the seller's stored listings in one marketplace, sorted."""
    from cvrtracker.listings.models import Listing

    return sorted(
        set(
            Listing.objects.filter(connection=connection, marketplace_id=marketplace_id)
            .exclude(asin="")
            .values_list("asin", flat=True)
        )
    )


def datakiosk_plan(*, connection: SellerConnection) -> int:
    """Create the two-year history queries not planned yet; returns how many were created.

    Idempotent: one by-date row per marketplace, and trends rows only for ASINs that
    no row of the marketplace covers yet (rows are unique per chunk of ASINs).
    """
    created = 0
    per_query = ASINS_PER_FILTER * max(1, settings.AMAZON_DATAKIOSK_FILTERS_PER_QUERY)
    now = clock.now()
    for market in listed_marketplace_ids(connection):
        today = marketplace_today(market, now)
        start = today - timedelta(days=settings.AMAZON_BACKFILL_DAYS)
        end = today - timedelta(days=1)
        existing = DataKioskQuery.objects.filter(connection=connection, marketplace_id=market)
        rows = []
        if not existing.filter(kind=Kind.BY_DATE).exists():
            rows.append(
                DataKioskQuery(
                    connection=connection,
                    marketplace_id=market,
                    kind=Kind.BY_DATE,
                    start_day=start,
                    end_day=end,
                    next_attempt_at=now,
                )
            )
        covered = {a for chunk in existing.values_list("asins", flat=True) for a in chunk}
        new = [a for a in known_asins(connection, market) if a not in covered]
        for i in range(0, len(new), per_query):
            chunk = new[i : i + per_query]
            rows.append(
                DataKioskQuery(
                    connection=connection,
                    marketplace_id=market,
                    kind=Kind.TRENDS,
                    asins=chunk,
                    chunk_key=_chunk_key(chunk),
                    start_day=start,
                    end_day=end,
                    next_attempt_at=now,
                )
            )
        before = existing.count()
        DataKioskQuery.objects.bulk_create(rows, ignore_conflicts=True)
        created += existing.count() - before
    return created


def due_to_request(*, connection: SellerConnection, now: datetime):
    """Rows waiting for a createQuery: the account series first, then the ASIN chunks."""
    return (
        DataKioskQuery.objects.filter(
            connection=connection, status__in=TO_REQUEST, next_attempt_at__lte=now
        )
        .order_by("kind", "pk")  # "by_date" sorts before "trends"
        .values_list("id", "next_attempt_at")
    )


def effective_start(item: DataKioskQuery, today: date) -> date:
    """The planned start, moved up if the plan is older than today: "The start date must
    be no more than two years ago" (startDate in the schema)."""
    return max(item.start_day, today - timedelta(days=settings.AMAZON_BACKFILL_DAYS))


def query_text(item: DataKioskQuery) -> str:
    if item.kind == Kind.BY_DATE:
        return by_date_query(item.marketplace_id, item.start_day, item.end_day)
    filters = [
        (item.marketplace_id, item.asins[i : i + ASINS_PER_FILTER])
        for i in range(0, len(item.asins), ASINS_PER_FILTER)
    ]
    return trends_query(filters, item.start_day, item.end_day)


def datakiosk_advance(*, item: DataKioskQuery) -> str:
    """Move one query one step; returns its status afterwards.

    AmazonError when a call failed (after the client's own retries); the task
    records it and reschedules (a revoked grant stops the connection).
    """
    api = connection_client(connection=item.connection)
    if item.status in TO_REQUEST:
        _request(api, item)
    elif item.status == Status.REQUESTED:
        _poll(api, item)
    return item.status


def _request(api: SpApiClient, item: DataKioskQuery) -> None:
    item.start_day = effective_start(item, marketplace_today(item.marketplace_id))
    try:
        query_id = api.create_query(
            query_text(item), quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS
        )
    except QuotaWait as wait:
        _save(item, next_attempt_at=clock.now() + quota_retry(wait))
        return
    except AmazonError as error:
        if error.status != 400 or isinstance(error, RevokedAuthorization):
            raise
        # Amazon refused the query itself: asking again the same way will not help.
        _give_up(item, Status.FAILED, f"Amazon refused the query: {error.code or error}")
        return
    now = clock.now()
    _save(
        item,
        status=Status.REQUESTED,
        start_day=item.start_day,
        query_id=query_id,
        requested_at=now,
        next_attempt_at=now + timedelta(seconds=settings.AMAZON_DATAKIOSK_POLL_SECONDS),
    )


def _poll(api: SpApiClient, item: DataKioskQuery) -> None:
    try:
        query = api.get_query(item.query_id)
    except AmazonError as error:
        if error.status != 404:
            raise
        datakiosk_retry_later(item=item, status=Status.FAILED, reason="Amazon lost the query")
        return
    status = query.get("processingStatus")
    now = clock.now()
    if status in ("IN_QUEUE", "IN_PROGRESS"):
        poll = timedelta(seconds=settings.AMAZON_DATAKIOSK_POLL_SECONDS)
        _save(item, next_attempt_at=now + poll)
    elif status == "CANCELLED":
        datakiosk_retry_later(item=item, status=Status.FAILED, reason="cancelled at Amazon")
    elif status == "FATAL":
        _fatal(api, item, query.get("errorDocumentId"))
    elif status == "DONE":
        # DONE without a data document: "the request completed with no data" (use case guide).
        _fetch(api, item, query.get("dataDocumentId"))
    else:
        raise AmazonError(f"getQuery: unknown processingStatus {status}", permanent=False)


def _fatal(api: SpApiClient, item: DataKioskQuery, document_id: str | None) -> None:
    """Read the error document (JSON) and keep its message as the row's last error."""
    reason = "Amazon: FATAL"
    if document_id:
        try:
            raw = api.get_query_document(
                document_id, quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS
            )
        except QuotaWait as wait:
            _save(item, next_attempt_at=clock.now() + quota_retry(wait))
            return
        try:
            message = json.loads(raw).get("errorMessage")
        except (ValueError, AttributeError):
            message = None
        reason = f"Amazon: FATAL: {message}" if message else "Amazon: FATAL (unreadable error)"
    logger.warning("Data Kiosk %s %s: %s", item.kind, item.marketplace_id, reason)
    datakiosk_retry_later(item=item, status=Status.FATAL, reason=reason)


def _fetch(api: SpApiClient, item: DataKioskQuery, document_id: str | None) -> None:
    document = b""
    if document_id:
        try:
            document = api.get_query_document(
                document_id, quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS
            )
        except QuotaWait as wait:
            _save(item, next_attempt_at=clock.now() + quota_retry(wait))
            return
        except CorruptDocument as error:
            datakiosk_retry_later(item=item, status=Status.FAILED, reason=str(error))
            return
    market = MARKETPLACES.get(item.marketplace_id)
    currency = market.currency if market else None
    try:
        # Parsed whole before anything is written: a cut document stores nothing.
        if item.kind == Kind.BY_DATE:
            rows = parse_by_date(
                document,
                marketplace_id=item.marketplace_id,
                start=item.start_day,
                end=item.end_day,
                currency=currency,
            )
        else:
            rows = parse_trends(
                document,
                marketplace_id=item.marketplace_id,
                asins=item.asins,
                start=item.start_day,
                end=item.end_day,
                currency=currency,
            )
    except ReportFormatError as error:
        logger.warning("Data Kiosk %s %s: %s", item.kind, item.marketplace_id, error)
        datakiosk_retry_later(item=item, status=Status.FAILED, reason=str(error))
        return
    del document
    now = clock.now()
    with transaction.atomic():
        common = {
            "connection": item.connection,
            "marketplace_id": item.marketplace_id,
            "start": item.start_day,
            "end": item.end_day,
            "currency": currency or "",
        }
        if item.kind == Kind.BY_DATE:
            metrics_ingest_account_days(rows=rows, **common)
        else:
            metrics_merge_asin_days(asins=item.asins, rows=rows, **common)
            # Two years of these ASINs arrived: their inferred and derived changes; after
            # the marketplace's last chunk, the impacts too (each reads every ASIN).
            last_chunk = not (
                DataKioskQuery.objects.filter(
                    connection=item.connection,
                    marketplace_id=item.marketplace_id,
                    kind=Kind.TRENDS,
                    status__in=[Status.DUE, Status.REQUESTED],
                )
                .exclude(pk=item.pk)
                .exists()
            )
            transaction.on_commit(
                partial(
                    (derive_and_measure if last_chunk else derive_listing_changes).enqueue,
                    item.connection_id,
                    item.marketplace_id,
                    item.pk,  # the task reads the ASINs from the row: ids only in a queue
                ),
                robust=True,
            )
        # Only a row still holding this query is finished.
        DataKioskQuery.objects.filter(
            pk=item.pk, status=Status.REQUESTED, query_id=item.query_id
        ).update(
            status=Status.DONE,
            fetched_at=now,
            next_attempt_at=None,
            attempts=0,
            last_error="",
        )
    item.refresh_from_db()


def datakiosk_retry_later(*, item: DataKioskQuery, status: str, reason: str) -> None:
    """Give up on this query for now; a new one is created after a backoff, at most
    AMAZON_DATAKIOSK_MAX_ATTEMPTS times in a row (each one spends createQuery quota)."""
    attempts = item.attempts + 1
    if attempts >= settings.AMAZON_DATAKIOSK_MAX_ATTEMPTS:
        _give_up(item, status, reason, attempts=attempts)
        return
    _save(
        item,
        status=status,
        attempts=attempts,
        query_id="",
        next_attempt_at=clock.now() + retry_delay(attempts),
        last_error=reason[:300],
    )


def _give_up(item: DataKioskQuery, status: str, reason: str, *, attempts: int | None = None):
    _save(
        item,
        status=status,
        attempts=item.attempts + 1 if attempts is None else attempts,
        query_id="",
        next_attempt_at=None,
        last_error=reason[:300],
    )
