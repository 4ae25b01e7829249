"""Background entry points: load the row, call the service, reschedule on failure.

Tasks never retry in place. A failure is recorded (in the seller's words on
the connection, in detail on the job row; a report step's only on its own row)
with a later due time, and the scheduler enqueues the job again when it is due;
a revoked grant stops the connection, so nothing is raised for the worker to
retry blindly. A job whose connection stopped while it ran (ConnectionStopped: the
client refused to send its next request) just ends, writing nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.tasks import task

from cvrtracker.amazon.client import AmazonError, ConnectionStopped, RevokedAuthorization
from cvrtracker.amazon.models import DataKioskQuery, SalesTrafficDay, SellerConnection, SyncJob
from cvrtracker.amazon.services import connection_record_error, connection_sync_marketplaces
from cvrtracker.amazon.sync.datakiosk import datakiosk_advance
from cvrtracker.amazon.sync.jobs import connection_sync, sync_job_run
from cvrtracker.amazon.sync.sales_traffic import sales_traffic_advance, sales_traffic_record_error
from cvrtracker.amazon.sync.schedule import JobPaused, holds_claim, retry_delay
from cvrtracker.billing.limits import SYNC, team_can
from cvrtracker.lib import clock

logger = logging.getLogger(__name__)
ACTIVE = SellerConnection.Status.ACTIVE


def _active(connection_id: int) -> SellerConnection | None:
    """The connection if it may call Amazon now: active, and its team's plan allows syncing."""
    connection = (
        SellerConnection.objects.filter(pk=connection_id, status=ACTIVE, stopped_at=None)
        .select_related("team")
        .first()
    )
    if connection is not None and not team_can(connection.team, SYNC):
        return None  # the plan ended: the data is kept, nothing new is fetched
    return connection


def _claimed(
    model: type[SalesTrafficDay | SyncJob | DataKioskQuery], pk: int, field: str, claim: str | None
):
    """The step or job row if its connection may call Amazon now and `claim` still
    holds it (see holds_claim); None otherwise."""
    row = (
        model.objects.select_related("connection__team")
        .filter(pk=pk, connection__status=ACTIVE, connection__stopped_at=None)
        .first()
    )
    if row is None or not team_can(row.connection.team, SYNC):
        return None
    return row if holds_claim(model, pk, field, claim) else None


def _record(connection: SellerConnection, error: AmazonError) -> None:
    """Tell the seller (revoked grants stop the connection), unless it stopped meanwhile."""
    if SellerConnection.objects.filter(pk=connection.pk, status=ACTIVE).exists():
        connection_record_error(connection=connection, error=error)


def _back_off(
    row: SalesTrafficDay | SyncJob | DataKioskQuery, field: str, error: AmazonError
) -> None:
    """Record the failure and make the row due again after a backoff; its step,
    run and cursor are kept, so it goes on from where it stopped."""
    _record(row.connection, error)
    attempts = row.attempts + 1
    type(row).objects.filter(pk=row.pk).update(
        attempts=attempts,
        last_error=str(error)[:300],
        **{field: clock.now() + retry_delay(attempts)},
    )


@task()
def sync_marketplaces(connection_id: int) -> bool:
    """Refresh a connection's marketplaces; True when done, False when skipped or failed."""
    connection = _active(connection_id)
    if connection is None:
        return False  # disconnected or revoked since it was queued: no call
    try:
        connection_sync_marketplaces(connection=connection)
    except AmazonError:
        return False
    return True


@task()
def sync_connection(connection_id: int, claim: str | None = None) -> bool:
    """The daily sync of a connection: marketplaces, the report plan, the jobs made due.

    `claim` is the scheduler's claim token: a stale task (its item claimed again
    or finished since it was queued) does nothing. Likewise below.
    """
    connection = _active(connection_id)
    if connection is None or not holds_claim(
        SellerConnection, connection_id, "next_sync_at", claim
    ):
        return False
    try:
        connection_sync(connection=connection)
    except AmazonError:
        return False  # recorded by the marketplaces service, with a new due time
    return True


@task()
def sales_traffic_step(item_id: int, claim: str | None = None) -> str:
    """Move one Sales & Traffic report request one step; returns its status."""
    item = _claimed(SalesTrafficDay, item_id, "next_attempt_at", claim)
    if item is None:
        return "skipped"
    try:
        return sales_traffic_advance(item=item)
    except ConnectionStopped:
        return "stopped"
    except RevokedAuthorization as error:
        _record(item.connection, error)  # stops the connection (recorded once already)
        return "revoked"
    except AmazonError as error:
        # On the row only: one report's trouble must not push the connection's daily
        # sync or replace the seller's message (sp-api-semantics.md §8).
        sales_traffic_record_error(item=item, error=error)
        return "retry"


@task()
def datakiosk_step(item_id: int, claim: str | None = None) -> str:
    """Move one Data Kiosk query one step; returns its status."""
    item = _claimed(DataKioskQuery, item_id, "next_attempt_at", claim)
    if item is None:
        return "skipped"
    try:
        return datakiosk_advance(item=item)
    except ConnectionStopped:
        return "stopped"
    except AmazonError as error:
        # 429 and 5xx after the client's retries: back off; a revoked grant stops the
        # connection (_record), and its rows wait for a reconnect.
        _back_off(item, "next_attempt_at", error)
        return "retry"


@task()
def run_sync_job(job_id: int, claim: str | None = None) -> int:
    """Run a listings, inventory or orders job; returns the items stored (-1 when not done)."""
    job = _claimed(SyncJob, job_id, "next_run_at", claim)
    if job is None:
        return -1
    try:
        return sync_job_run(job=job)
    except JobPaused as paused:
        wait = timedelta(seconds=paused.retry_after)
        SyncJob.objects.filter(pk=job.pk).update(next_run_at=clock.now() + wait)
        return -1
    except ConnectionStopped:
        return -1
    except AmazonError as error:
        _back_off(job, "next_run_at", error)
        return -1


def enqueue_sync_marketplaces(connection: SellerConnection) -> None:
    """Queue the marketplaces sync once the current transaction has committed the row."""
    transaction.on_commit(partial(sync_marketplaces.enqueue, connection.pk))
