"""The daily connection sync and the runs of listings, inventory and orders jobs."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings

from cvrtracker.amazon.models import SellerConnection, SyncJob
from cvrtracker.amazon.services import connection_sync_marketplaces
from cvrtracker.amazon.sync.catalog import inventory_sync, listings_sync
from cvrtracker.amazon.sync.datakiosk import datakiosk_plan
from cvrtracker.amazon.sync.orders import orders_sync
from cvrtracker.amazon.sync.sales_traffic import range_waiting, sales_traffic_plan
from cvrtracker.amazon.sync.schedule import CONNECTION_INTERVAL, interval
from cvrtracker.lib import clock
from cvrtracker.listings.models import Listing

RUNNERS = {
    SyncJob.Kind.LISTINGS: listings_sync,
    SyncJob.Kind.INVENTORY: inventory_sync,
    SyncJob.Kind.ORDERS: orders_sync,
}
# On connect the first minutes belong to the range totals (sync/sales_traffic.py): one
# worker (make run's) busy with a 10,000-SKU inventory or orders run, a minute or
# more, would keep the range report's poll waiting behind it. These first runs wait
# AMAZON_QUICK_TOTALS_HOLD_SECONDS; listings go at once (their slices are short, and
# they tell where the seller sells).
HELD_FOR_RANGE = (SyncJob.Kind.INVENTORY, SyncJob.Kind.ORDERS)
NOW = timedelta()
SYNCED_AT = {
    SyncJob.Kind.LISTINGS: "listings_synced_at",
    SyncJob.Kind.INVENTORY: "inventory_synced_at",
    SyncJob.Kind.ORDERS: "orders_synced_at",
}


def connection_sync(*, connection: SellerConnection, plan_metrics: bool = True) -> None:
    """Once a day: marketplaces, the Sales & Traffic and Data Kiosk plans, every job made due.

    AmazonError when the marketplaces could not be read (recorded on the connection).
    `plan_metrics=False` leaves the metrics plans out (a replay plans them once, at the
    present: see sync/replay.py).
    """
    connection_sync_marketplaces(connection=connection)
    if plan_metrics:
        sales_traffic_plan(connection=connection)
        datakiosk_plan(connection=connection)
    now = clock.now()
    hold = NOW
    if plan_metrics and range_waiting(connection=connection):
        hold = timedelta(seconds=settings.AMAZON_QUICK_TOTALS_HOLD_SECONDS)
    SyncJob.objects.bulk_create(
        [
            SyncJob(
                connection=connection,
                kind=kind,
                next_run_at=now + (hold if kind in HELD_FOR_RANGE else NOW),
            )
            for kind in SyncJob.Kind
        ],
        ignore_conflicts=True,  # only a new connection's jobs are created (and delayed)
    )
    SellerConnection.objects.filter(pk=connection.pk, status=SellerConnection.Status.ACTIVE).update(
        next_sync_at=now + CONNECTION_INTERVAL
    )


def _tracked(job: SyncJob) -> int:
    """The connection's tracked listings (what a listings sweep reads), else 0."""
    if job.kind != SyncJob.Kind.LISTINGS:
        return 0
    return Listing.objects.filter(
        connection_id=job.connection_id, tracking=Listing.Tracking.TRACKED
    ).count()


def sync_job_run(*, job: SyncJob, plan_metrics: bool = True) -> int:
    """Run (or resume) the job's current run; returns the items stored.

    The run id is set when a run starts and kept until it succeeds, so a run
    resumed after a crash writes to the same snapshots. `plan_metrics` as in
    connection_sync.
    """
    if not job.run_id:
        run_id = uuid.uuid4().hex
        SyncJob.objects.filter(pk=job.pk, run_id="").update(run_id=run_id)
        job.refresh_from_db()
    count = RUNNERS[job.kind](job=job)
    now = clock.now()
    cursor = job.cursor if job.kind == SyncJob.Kind.ORDERS else {}
    SyncJob.objects.filter(pk=job.pk, run_id=job.run_id).update(
        run_id="",
        cursor=cursor,
        attempts=0,
        last_error="",
        last_success_at=now,
        next_run_at=now + interval(job.kind, tracked=_tracked(job)),
    )
    SellerConnection.objects.filter(pk=job.connection_id).update(**{SYNCED_AT[job.kind]: now})
    if job.kind == SyncJob.Kind.LISTINGS and plan_metrics:
        # The listings run learned where the seller really sells and which ASINs exist:
        # plan their history now rather than at tomorrow's connection sync (both plans
        # are idempotent).
        connection = SellerConnection.objects.get(pk=job.connection_id)
        sales_traffic_plan(connection=connection)
        datakiosk_plan(connection=connection)
    return count
