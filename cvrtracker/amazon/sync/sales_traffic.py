"""Sales & Traffic: the plan of recent days, Amazon's request budget, and the report state machine.

Amazon aggregates the by-ASIN section of GET_SALES_AND_TRAFFIC_REPORT over the
whole requested range, with no date, so daily per-ASIN figures need one
CHILD-granularity DAY report per marketplace day. Since 2026-04-24 Amazon allows
this report only once per 15 minutes and 96 times a day, per seller and shared
with the seller's other apps (models#5210). So reports cover only the recent
days Amazon still revises (AMAZON_REPORT_DAYS); the two-year history comes from
Data Kiosk (amazon/sync/datakiosk). Recent days are re-pulled on a tapering
schedule: D-1..D-3 daily while their traffic is pending (it arrives days after
the sales, models#2955), then once at about 7, 14 and 30 days, when returns and
cancellations have revised units and sales (sp-api-semantics.md §2). In normal
running that is about 6 reports a day per marketplace.

The same quirk makes ONE report over a range enough for every product's totals
over it. So while a marketplace's recent days are not all in, the plan first asks
for one CHILD report over the last 30 days whose traffic has arrived (kind=range,
metrics/quick.py): a new seller sees those totals within a minute of connecting,
days before the daily reports are done. It goes before every daily report, costs
one request of the budget, and is not asked again once the daily days are in.

Each request is a SalesTrafficDay row that moves
    due → requested → done | cancelled (no data) | fatal/failed (retried later) | given_up
one step per job, so a worker never sleeps on Amazon's queue and a crash at any
point leaves a row that the scheduler brings back. At most one report is in
flight per seller (the scheduler's rule, checked again here), and every request
takes a grant of the shared budget (amazon/ratelimit.sales_traffic_budget)
first. The document is parsed whole before the first write, and stored with the
row's "done" in one transaction: a corrupt document or a killed worker commits
nothing partial.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from datetime import UTC, date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Case, IntegerField, Q, When

from cvrtracker.amazon.client import AmazonError, CorruptDocument, QuotaWait, SpApiClient
from cvrtracker.amazon.marketplaces import is_amazon_marketplace, marketplace_today, report_instant
from cvrtracker.amazon.models import LISTED, ST_REFUSED, SalesTrafficDay, SellerConnection
from cvrtracker.amazon.ratelimit import (
    ST_DAILY_LIMIT,
    ST_INTERVAL_SECONDS,
    RequestBudget,
    sales_traffic_budget,
)
from cvrtracker.amazon.services import connection_client, connection_refuse_sales_traffic
from cvrtracker.amazon.sync.schedule import retry_delay
from cvrtracker.amazon.sync.schedule import save_fields as _save
from cvrtracker.impact.tasks import derive_and_measure
from cvrtracker.lib import clock
from cvrtracker.metrics.models import MetricRangeTotals
from cvrtracker.metrics.report import ReportFormatError, parse_sales_traffic
from cvrtracker.metrics.selectors import metrics_days_fetched
from cvrtracker.metrics.services import (
    metrics_ingest_account_series,
    metrics_ingest_day,
    metrics_store_range_totals,
)

logger = logging.getLogger(__name__)

REPORT_TYPE = "GET_SALES_AND_TRAFFIC_REPORT"
Status = SalesTrafficDay.Status
Kind = SalesTrafficDay.Kind
# Statuses that mean "ask Amazon for a (new) report when due".
TO_REQUEST = (Status.DUE, Status.FATAL, Status.FAILED)
# Statuses of a day already fetched (with data or without).
FINISHED = (Status.DONE, Status.CANCELLED)
REPORT_GONE = "Amazon no longer had the report; asked for a new one"
# Tapering re-pull: the last PENDING_DAYS days daily until their traffic arrives,
# then once when the day is about this many days old.
PENDING_DAYS = 3
REPULL_AGES = (7, 14, 30)
THROTTLED = "Amazon's Sales & Traffic budget was used up (429); we wait 15 minutes"
RETIRED = "Not requested by report any more: the history comes from Data Kiosk"
# Range totals younger than this are fresh: no new range report while the daily
# days are still coming in.
QUICK_REFRESH = timedelta(days=7)
DAILY_COMPLETE = "The daily reports of these days are all in: range totals not needed"


def quota_retry(wait: QuotaWait) -> timedelta:
    """When to come back for a token: when our bucket will have one."""
    return timedelta(seconds=max(0.5, wait.retry_after))


def marketplace_ids(connection: SellerConnection) -> list[str]:
    """The marketplaces the tracker syncs for a seller (listings, inventory, orders), in
    Amazon's order.

    getMarketplaceParticipations also lists non-Amazon and internal ids (docs#254),
    and ones where the seller does not take part; neither has data to ask for.
    """
    return [
        m["id"]
        for m in connection.marketplaces
        if is_amazon_marketplace(m.get("id", "")) and m.get("isParticipating", True)
    ]


def sales_traffic_marketplace_ids(connection: SellerConnection) -> list[str]:
    """The marketplaces to ask Sales & Traffic reports about: those of marketplace_ids
    less the ones where Amazon refused this report ("Some of the marketplaces are not
    allowed for this Report", models#4718) and those where the last listings run found
    nothing listed (getMarketplaceParticipations calls sites the seller never opened
    "participating", docs#254). Before the first listings run a marketplace is asked
    about: a site the seller never opened then costs one refused request, and the data
    does not wait on the listings. Orders and listings of the others are still synced."""
    left_out = {
        m.get("id") for m in connection.marketplaces if m.get(ST_REFUSED) or m.get(LISTED) == 0
    }
    return [m for m in marketplace_ids(connection) if m not in left_out]


def listed_marketplace_ids(connection: SellerConnection) -> list[str]:
    """sales_traffic_marketplace_ids where a listings run has found something listed: Data
    Kiosk queries name the ASINs, so they wait for the listings."""
    listed = {m.get("id") for m in connection.marketplaces if m.get(LISTED)}
    return [m for m in sales_traffic_marketplace_ids(connection) if m in listed]


def budget_for(connection: SellerConnection) -> RequestBudget:
    return sales_traffic_budget(str(connection.code))


def _scale() -> float:
    return max(settings.AMAZON_ST_TIME_SCALE, 1e-9)


def throttle_backoff() -> timedelta:
    """How long to leave the report alone after Amazon's 429: its 15-minute interval."""
    return timedelta(seconds=ST_INTERVAL_SECONDS / _scale())


def sales_traffic_plan(*, connection: SellerConnection) -> int:
    """Create the rows of the recent marketplace days and mark the taper's re-pulls due.

    Returns how many rows were created. Idempotent: the rows are unique per
    (connection, marketplace, kind, day), and a day is re-pulled at most once per
    marketplace day (its `pulled_age` says when it was last fetched).
    """
    now = clock.now()
    markets = sales_traffic_marketplace_ids(connection)
    _retire(connection, markets, now)
    created = 0
    for market in markets:
        # A day is complete only once the marketplace's own day has ended: at 03:00
        # UTC it is still yesterday evening in Los Angeles.
        today = marketplace_today(market, now)
        oldest = today - timedelta(days=settings.AMAZON_REPORT_DAYS)
        rows = [
            SalesTrafficDay(
                connection=connection,
                marketplace_id=market,
                kind=Kind.DAY,
                day=today - timedelta(days=offset),
                next_attempt_at=now,
            )
            for offset in range(1, settings.AMAZON_REPORT_DAYS + 1)
        ]
        before = SalesTrafficDay.objects.filter(connection=connection, marketplace_id=market)
        count = before.count()
        SalesTrafficDay.objects.bulk_create(rows, ignore_conflicts=True)
        created += before.count() - count
        finished = before.filter(kind=Kind.DAY, status__in=FINISHED, day__gte=oldest, day__lt=today)
        again = [row.pk for row in finished if repull_due(row, today=today)]
        SalesTrafficDay.objects.filter(pk__in=again, status__in=FINISHED).update(
            status=Status.DUE, next_attempt_at=now, attempts=0, report_id=""
        )
        created += _plan_range(connection, market, today=today, now=now)
    return created


def quick_range(*, today: date) -> tuple[date, date]:
    """The range of the quick totals on the marketplace day `today`: the last
    AMAZON_QUICK_TOTALS_DAYS days whose traffic has arrived. It ends
    AMAZON_QUICK_TOTALS_LAG_DAYS (3) before yesterday: sessions of the last days come
    days after their sales (models#2955), and by-ASIN totals whose units count days
    without sessions would overstate every product's conversion."""
    end = today - timedelta(days=1 + settings.AMAZON_QUICK_TOTALS_LAG_DAYS)
    return end - timedelta(days=settings.AMAZON_QUICK_TOTALS_DAYS - 1), end


def _plan_range(connection: SellerConnection, market: str, *, today: date, now: datetime) -> int:
    """One range report (kind=range) when the marketplace's daily days of the range are
    not all in and no fresh range totals are stored; returns 1 when a row was created.

    A range row still waiting when the daily days are all in is given up: it would
    spend a request of the budget on nothing new.
    """
    if not settings.AMAZON_QUICK_TOTALS:
        return 0
    start, end = quick_range(today=today)
    rows = SalesTrafficDay.objects.filter(
        connection=connection, marketplace_id=market, kind=Kind.RANGE
    )
    if _daily_complete(connection, market, start, end, today=today):
        rows.filter(status__in=TO_REQUEST).update(
            status=Status.GIVEN_UP, next_attempt_at=None, last_error=DAILY_COMPLETE
        )
        return 0
    if rows.filter(status__in=(*TO_REQUEST, Status.REQUESTED)).exists():
        return 0  # one at a time: a failed one is asked again after its own backoff
    fresh = MetricRangeTotals.objects.filter(
        connection=connection, marketplace_id=market, fetched_at__gte=now - QUICK_REFRESH
    )
    if fresh.exists():
        return 0
    _, created = SalesTrafficDay.objects.get_or_create(
        connection=connection,
        marketplace_id=market,
        kind=Kind.RANGE,
        day=start,
        defaults={"end_day": end, "next_attempt_at": now},
    )
    return int(created)


def _daily_complete(
    connection: SellerConnection, market: str, start: date, end: date, *, today: date
) -> bool:
    """Whether every day of [start, end] is in: fetched by its daily report (days of the
    report window), or stored by Data Kiosk (older days)."""
    oldest = today - timedelta(days=settings.AMAZON_REPORT_DAYS)
    first_reported = max(start, oldest)
    if first_reported <= end:
        finished = SalesTrafficDay.objects.filter(
            connection=connection,
            marketplace_id=market,
            kind=Kind.DAY,
            status__in=FINISHED,
            day__gte=first_reported,
            day__lte=end,
        ).count()
        if finished < (end - first_reported).days + 1:
            return False
    if start < oldest:
        last_old = min(end, oldest - timedelta(days=1))
        fetched = metrics_days_fetched(
            connection=connection, marketplace_id=market, start=start, end=last_old
        )
        if len(fetched) < (last_old - start).days + 1:
            return False
    return True


def repull_due(row: SalesTrafficDay, *, today) -> bool:
    """True when a fetched day is due again on the marketplace day `today`."""
    age = (today - row.day).days
    pulled = row.pulled_age if row.pulled_age is not None else 0
    if pulled >= age:
        return False  # fetched today already
    if age <= PENDING_DAYS and row.is_pending:
        return True  # the traffic has not arrived yet: daily
    return any(pulled < milestone <= age for milestone in REPULL_AGES)


def _retire(connection: SellerConnection, markets: list[str], now: datetime) -> None:
    """Rows that the plan no longer asks for (the two-year series and days of the old
    730-day plan, marketplaces not synced any more) are given up, not requested."""
    keep = Q(pk__in=[])
    for market in markets:
        oldest = marketplace_today(market, now) - timedelta(days=settings.AMAZON_REPORT_DAYS)
        keep |= Q(kind=Kind.DAY, marketplace_id=market, day__gte=oldest)
        keep |= Q(kind=Kind.RANGE, marketplace_id=market)
    SalesTrafficDay.objects.filter(connection=connection, status__in=TO_REQUEST).exclude(
        keep
    ).update(status=Status.GIVEN_UP, next_attempt_at=None, last_error=RETIRED)


def due_to_request(*, connection: SellerConnection, now: datetime):
    """Rows waiting for a createReport, in the order to ask: the range totals (see
    range_order), then first pulls newest first, then days whose traffic is pending,
    re-pulls of settled days last."""
    ranges = [
        When(kind=Kind.RANGE, marketplace_id=market, then=rank - 1000)
        for rank, market in enumerate(range_order(connection))
    ]
    first = Case(
        *ranges,
        When(kind=Kind.RANGE, then=-1),
        When(fetched_at=None, then=0),
        When(is_pending=True, then=1),
        default=2,
        output_field=IntegerField(),
    )
    return (
        SalesTrafficDay.objects.filter(
            connection=connection,
            kind__in=(Kind.DAY, Kind.RANGE),
            status__in=TO_REQUEST,
            next_attempt_at__lte=now,
        )
        .order_by(first, "-day", "marketplace_id")
        .values_list("id", "next_attempt_at")
    )


def range_waiting(*, connection: SellerConnection) -> bool:
    """Whether a range report of the connection is still to be asked or fetched."""
    return SalesTrafficDay.objects.filter(
        connection=connection, kind=Kind.RANGE, status__in=(*TO_REQUEST, Status.REQUESTED)
    ).exists()


def range_order(connection: SellerConnection) -> list[str]:
    """The marketplaces in the order their range totals are asked: each waits 15 minutes
    for the one before (Amazon's budget, one marketplace per report, docs#614), so the
    most listed first (once a listings run has counted), then Amazon's own order of
    the seller's marketplaces (getMarketplaceParticipations lists the home site first
    in the simulator; Amazon does not document its order)."""
    markets = sales_traffic_marketplace_ids(connection)
    listed = {m.get("id"): m.get(LISTED) or 0 for m in connection.marketplaces}
    return sorted(markets, key=lambda m: (-listed.get(m, 0), markets.index(m)))


def sales_traffic_in_flight(*, connection: SellerConnection) -> int:
    """Reports requested and not finished, of this seller (or of every seller, when the
    budget is the app's): Amazon works on one at a time, and each one counts."""
    rows = SalesTrafficDay.objects.filter(
        status=Status.REQUESTED, connection__status=SellerConnection.Status.ACTIVE
    )
    if settings.AMAZON_ST_BUDGET_SCOPE != "app":
        rows = rows.filter(connection=connection)
    return rows.count()


def sales_traffic_budget_usage(*, connection: SellerConnection) -> dict:
    """The budget as Settings → Amazon shows it: used in the last 24 h, our cap, Amazon's
    limit, the scope, and when the next request may go (None: now)."""
    usage = budget_for(connection).usage()
    next_at = None
    if usage.next_at > time.time():
        next_at = datetime.fromtimestamp(usage.next_at, tz=UTC)
    return {
        "used": usage.used,
        "cap": usage.cap,
        "amazon_limit": ST_DAILY_LIMIT,
        "scope": settings.AMAZON_ST_BUDGET_SCOPE,
        "next_at": next_at,
    }


def sales_traffic_advance(*, item: SalesTrafficDay) -> str:
    """Move one report request one step; returns its status afterwards.

    AmazonError when a call failed (after the client's own retries); the task
    records it on the row and reschedules.
    """
    api = connection_client(connection=item.connection)
    if item.status in TO_REQUEST:
        _request(api, item)
    elif item.status == Status.REQUESTED:
        _poll(api, item)
    return item.status


def _range(item: SalesTrafficDay) -> tuple[str, str, dict[str, str]]:
    end = item.end_day or item.day
    # Amazon ignores the time of day and counts the marketplace's day; noon UTC is
    # the same calendar date in every marketplace zone (marketplaces.report_instant).
    options = {
        "dateGranularity": "DAY",
        "asinGranularity": "PARENT" if item.kind == Kind.SERIES else "CHILD",
    }
    return report_instant(item.day), report_instant(end), options


def _refused_here(error: AmazonError) -> bool:
    """Amazon's 400 for a marketplace where this report is not offered: "Some of the
    marketplaces are not allowed for this Report" (Ireland, models#4718)."""
    return error.status == 400 and "marketplace" in error.detail.lower()


def _request(api: SpApiClient, item: SalesTrafficDay) -> None:
    now = clock.now()
    if sales_traffic_in_flight(connection=item.connection):
        # Another step won the race for the one report in flight: after it.
        poll = timedelta(seconds=settings.AMAZON_REPORT_POLL_SECONDS)
        _save(item, next_attempt_at=now + poll)
        return
    budget = budget_for(item.connection)
    moment = time.time()
    wait = budget.try_acquire(now=moment)
    if wait > 0:
        _save(item, next_attempt_at=now + timedelta(seconds=wait))
        return
    start, end, options = _range(item)
    try:
        report_id = api.create_report(
            report_type=REPORT_TYPE,
            marketplace_ids=[item.marketplace_id],
            start=start,
            end=end,
            options=options,
            quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS,
            # A 429 here is the daily budget, not a passing burst: never retried in place.
            retry_throttled=False,
        )
    except QuotaWait as wait_for:
        budget.refund(moment)  # nothing was sent
        _save(item, next_attempt_at=clock.now() + quota_retry(wait_for))
        return
    except AmazonError as error:
        if error.status == 429:
            # The seller's other apps may have spent the budget: every worker waits.
            budget.block(throttle_backoff().total_seconds())
            _save(item, next_attempt_at=clock.now() + throttle_backoff(), last_error=THROTTLED)
            return
        if _refused_here(error):
            _refuse_marketplace(item, error)
            return
        raise
    now = clock.now()
    _save(
        item,
        status=Status.REQUESTED,
        report_id=report_id,
        requested_at=now,
        next_attempt_at=now + timedelta(seconds=settings.AMAZON_REPORT_POLL_SECONDS),
    )


def _refuse_marketplace(item: SalesTrafficDay, error: AmazonError) -> None:
    reason = f"Amazon does not offer this report here ({error.status} {error.code})".strip()
    connection_refuse_sales_traffic(
        connection=item.connection, marketplace_id=item.marketplace_id, reason=reason
    )
    SalesTrafficDay.objects.filter(
        connection=item.connection, marketplace_id=item.marketplace_id, status__in=TO_REQUEST
    ).update(status=Status.GIVEN_UP, next_attempt_at=None, report_id="", last_error=reason)
    item.refresh_from_db()


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
    now = clock.now()
    if status in ("IN_QUEUE", "IN_PROGRESS"):
        waited = (now - (item.requested_at or now)).total_seconds()
        # Amazon queues a report behind the seller's others, for hours at times
        # (models#2509, docs#3502): only a long wait is cancelled, and never a
        # report Amazon has started on.
        stuck = settings.AMAZON_REPORT_STUCK_SECONDS / _scale()
        if status == "IN_QUEUE" and waited > stuck:
            # It may have started meanwhile; the new request replaces it anyway.
            with contextlib.suppress(AmazonError):
                api.cancel_report(item.report_id)
            hours = settings.AMAZON_REPORT_STUCK_SECONDS / 3600
            reason = f"Amazon kept the report queued for over {hours:g} h"
            sales_traffic_retry_later(item=item, status=Status.FAILED, reason=reason)
            return
        poll = timedelta(seconds=settings.AMAZON_REPORT_POLL_SECONDS)
        _save(item, next_attempt_at=now + poll)
    elif status == "CANCELLED":
        # Amazon cancels a report with nothing to return: that is a day without data.
        _finish(item, Status.CANCELLED, pending=False)
    elif status == "FATAL":
        reason = _fatal_reason(api, report.get("reportDocumentId"))
        logger.warning("Sales & Traffic %s %s: %s", item.marketplace_id, item.day, reason)
        sales_traffic_retry_later(item=item, status=Status.FATAL, reason=reason)
    elif status == "DONE":
        document_id = report.get("reportDocumentId")
        if document_id:
            _fetch(api, item, document_id)
        else:
            # The docs give a document "if there is report data available": none, no data.
            _finish(item, Status.CANCELLED, pending=False)
    else:
        raise AmazonError(f"getReport: unknown processingStatus {status}", permanent=False)


def _fatal_reason(api: SpApiClient, document_id: str | None) -> str:
    """Amazon's short explanation of a FATAL report, from its error document when there
    is one ("A reportDocumentId might be present … can explain why", the model).

    Only the `errorDetails` text is kept: never anything that could be report data.
    """
    if not document_id:
        return "Amazon: FATAL"
    try:
        data = api.get_report_document(
            document_id, quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS
        )
        details = json.loads(data).get("errorDetails")
    except (AmazonError, ValueError, AttributeError):
        return "Amazon: FATAL (its error document could not be read)"
    if not isinstance(details, str) or not details:
        return "Amazon: FATAL"
    return f"Amazon: FATAL ({details[:200]})"


def _fetch(api: SpApiClient, item: SalesTrafficDay, document_id: str) -> None:
    try:
        document = api.get_report_document(
            document_id, quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS
        )
    except QuotaWait as wait:
        _save(item, next_attempt_at=clock.now() + quota_retry(wait))
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
    with transaction.atomic():
        connection = item.connection
        if item.kind == Kind.SERIES:
            metrics_ingest_account_series(
                connection=connection, marketplace_id=item.marketplace_id, report=report
            )
        elif item.kind == Kind.RANGE:
            metrics_store_range_totals(
                connection=connection,
                marketplace_id=item.marketplace_id,
                start=item.day,
                end=item.end_day or item.day,
                report=report,
            )
        else:
            metrics_ingest_day(
                connection=connection,
                marketplace_id=item.marketplace_id,
                day=item.day,
                report=report,
            )
            # A day's report touches nearly every ASIN, and a re-pulled day restates
            # units and traffic: derive the marketplace's events again, once committed,
            # then measure its changes' impacts with the new day.
            transaction.on_commit(
                partial(derive_and_measure.enqueue, connection.pk, item.marketplace_id),
                robust=True,
            )
        _finish(item, Status.DONE, pending=report.pending)


def _finish(item: SalesTrafficDay, status: str, *, pending: bool) -> None:
    now = clock.now()
    # Only a row still holding this report is finished: a plan that marked the day
    # due again meanwhile wins.
    finished = SalesTrafficDay.objects.filter(
        pk=item.pk, status=Status.REQUESTED, report_id=item.report_id
    ).update(
        status=status,
        fetched_at=now,
        pulled_age=(marketplace_today(item.marketplace_id, now) - item.day).days,
        is_pending=pending,
        next_attempt_at=None,
        attempts=0,
        last_error="",
    )
    if finished:
        _mark_synced(item.connection, now)
    item.refresh_from_db()


def sales_traffic_retry_later(*, item: SalesTrafficDay, status: str, reason: str) -> None:
    """Give up on this report for now; a new one is requested after a backoff.

    Every new request spends the daily budget, so a day is given up for good after
    AMAZON_REPORT_FATAL_ATTEMPTS FATAL reports, or AMAZON_REPORT_MAX_ATTEMPTS failures.
    """
    attempts = item.attempts + 1
    cap = (
        settings.AMAZON_REPORT_FATAL_ATTEMPTS
        if status == Status.FATAL
        else settings.AMAZON_REPORT_MAX_ATTEMPTS
    )
    if attempts >= cap:
        _save(
            item,
            status=Status.GIVEN_UP,
            attempts=attempts,
            report_id="",
            next_attempt_at=None,
            last_error=f"Given up after {attempts} attempts: {reason}"[:300],
        )
        return
    _save(
        item,
        status=status,
        attempts=attempts,
        report_id="",
        next_attempt_at=clock.now() + retry_delay(attempts),
        last_error=reason[:300],
    )


def sales_traffic_record_error(*, item: SalesTrafficDay, error: AmazonError) -> None:
    """A failed call of a report step, on its own row (the connection's sync and the
    seller's message are not this report's business); a requested report is polled
    again later. A permanent refusal is given up after AMAZON_REPORT_MAX_ATTEMPTS."""
    attempts = item.attempts + 1
    if error.permanent and attempts >= settings.AMAZON_REPORT_MAX_ATTEMPTS:
        SalesTrafficDay.objects.filter(pk=item.pk).update(
            status=Status.GIVEN_UP,
            attempts=attempts,
            report_id="",
            next_attempt_at=None,
            last_error=f"Given up after {attempts} attempts: {error}"[:300],
        )
        return
    SalesTrafficDay.objects.filter(pk=item.pk).update(
        attempts=attempts,
        last_error=str(error)[:300],
        next_attempt_at=clock.now() + retry_delay(attempts),
    )


def _mark_synced(connection: SellerConnection, now: datetime) -> None:
    SellerConnection.objects.filter(pk=connection.pk).filter(
        Q(sales_traffic_synced_at__lt=now) | Q(sales_traffic_synced_at=None)
    ).update(sales_traffic_synced_at=now)


def _short(error: Exception) -> str:
    if isinstance(error, CorruptDocument):
        return "The report document was damaged (not valid gzip); asked again later"
    return f"The report document was not a valid report ({error})"[:300]
