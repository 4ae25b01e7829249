"""One scheduler tick: claim what is due and enqueue its task after the claim commits.

Safe to run in several processes at once: every item is claimed with a
conditional update on the due value this process read (schedule.claim), so
each due item is enqueued by exactly one of them.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction

from cvrtracker.amazon.models import DataKioskQuery, SalesTrafficDay, SellerConnection, SyncJob
from cvrtracker.amazon.ratelimit import USAGE_PLANS, limiter_for
from cvrtracker.amazon.sync import datakiosk as dk
from cvrtracker.amazon.sync.sales_traffic import (
    TO_REQUEST,
    budget_for,
    due_to_request,
    sales_traffic_in_flight,
)
from cvrtracker.amazon.sync.schedule import claim, lease
from cvrtracker.lib import clock

ACTIVE = SellerConnection.Status.ACTIVE
# Report steps are short and keep the createReport quota busy: on backends with
# priorities (the database one) they run before queued listings and orders slices.
STEP_PRIORITY = 10
# A claimed request not yet sent holds a token in our books for this long.
IN_FLIGHT = timedelta(seconds=30)


def _enqueue_claimed(model, pk: int, field: str, old, task_function, priority: int = 0) -> bool:
    if priority and getattr(task_function.get_backend(), "supports_priority", False):
        task_function = task_function.using(priority=priority)
    with transaction.atomic():
        token = claim(model, pk, field, old)
        if token is None:
            return False
        transaction.on_commit(lambda: task_function.enqueue(pk, token))
    return True


def schedule_due(*, limit: int = 500) -> int:
    """Enqueue every due item (at most `limit` of each kind); returns how many."""
    from cvrtracker.amazon import tasks

    now = clock.now()
    enqueued = 0
    connections = SellerConnection.objects.filter(status=ACTIVE, next_sync_at__lte=now)
    for pk, old in connections.values_list("pk", "next_sync_at")[:limit]:
        enqueued += _enqueue_claimed(
            SellerConnection, pk, "next_sync_at", old, tasks.sync_connection
        )
    jobs = SyncJob.objects.filter(next_run_at__lte=now, connection__status=ACTIVE)
    for pk, old in jobs.order_by("next_run_at").values_list("pk", "next_run_at")[:limit]:
        enqueued += _enqueue_claimed(SyncJob, pk, "next_run_at", old, tasks.run_sync_job)
    # Polls of requested reports: getReport's quota (2/s, burst 15) is ample.
    polls = SalesTrafficDay.objects.filter(
        status=SalesTrafficDay.Status.REQUESTED, next_attempt_at__lte=now, connection__status=ACTIVE
    ).order_by("next_attempt_at")
    for pk, old in polls.values_list("pk", "next_attempt_at")[:limit]:
        enqueued += _enqueue_claimed(
            SalesTrafficDay, pk, "next_attempt_at", old, tasks.sales_traffic_step, STEP_PRIORITY
        )
    enqueued += _schedule_requests(now, tasks.sales_traffic_step)
    # Data Kiosk: polls (getQuery 2/s, burst 15) whenever due, new queries by createQuery tokens.
    dk_polls = DataKioskQuery.objects.filter(
        status=DataKioskQuery.Status.REQUESTED,
        next_attempt_at__lte=now,
        connection__status=ACTIVE,
    ).order_by("next_attempt_at")
    for pk, old in dk_polls.values_list("pk", "next_attempt_at")[:limit]:
        enqueued += _enqueue_claimed(
            DataKioskQuery, pk, "next_attempt_at", old, tasks.datakiosk_step, STEP_PRIORITY
        )
    enqueued += _schedule_queries(now, tasks.datakiosk_step)
    return enqueued


def _schedule_queries(now, task_function) -> int:
    """New createQuery calls: as many per connection as its createQuery bucket holds."""
    enqueued = 0
    waiting = DataKioskQuery.objects.filter(
        status__in=dk.TO_REQUEST, next_attempt_at__lte=now, connection__status=ACTIVE
    )
    for connection in SellerConnection.objects.filter(pk__in=waiting.values("connection_id")):
        in_flight = DataKioskQuery.objects.filter(
            connection=connection,
            status__in=dk.TO_REQUEST,
            next_attempt_at__gt=now + lease() - IN_FLIGHT,
        ).count()
        burst = USAGE_PLANS["createQuery"][1]
        tokens = limiter_for(str(connection.code), "createQuery").available(burst) - in_flight
        for pk, old in dk.due_to_request(connection=connection, now=now)[: max(0, tokens)]:
            enqueued += _enqueue_claimed(DataKioskQuery, pk, "next_attempt_at", old, task_function)
    return enqueued


def _schedule_requests(now, task_function) -> int:
    """New Sales & Traffic createReport calls: one per seller at a time.

    Amazon allows this report once per 15 minutes and 96 times a day (models#5210),
    so a seller gets a request only when none of theirs is in flight (requested,
    or claimed moments ago and not sent yet) and the budget would grant one now;
    with AMAZON_ST_BUDGET_SCOPE="app" one request at a time across all sellers.
    The step takes the grant itself, so a second scheduler at worst enqueues a
    step that finds no grant and comes back when there is one.
    """
    app_scope = settings.AMAZON_ST_BUDGET_SCOPE == "app"
    waiting = SalesTrafficDay.objects.filter(
        kind__in=(SalesTrafficDay.Kind.DAY, SalesTrafficDay.Kind.RANGE),
        status__in=TO_REQUEST,
        next_attempt_at__lte=now,
        connection__status=ACTIVE,
    )
    # Claimed moments ago and not sent yet: those will be in flight soon. A claim
    # moves the due time to exactly claim time + lease; a row backed off further
    # is not a claim.
    claimed = SalesTrafficDay.objects.filter(
        status__in=TO_REQUEST,
        next_attempt_at__gt=now + lease() - IN_FLIGHT,
        next_attempt_at__lte=now + lease(),
        connection__status=ACTIVE,
    )
    enqueued = 0
    for connection in SellerConnection.objects.filter(pk__in=waiting.values("connection_id")):
        if sales_traffic_in_flight(connection=connection):
            continue
        if (claimed if app_scope else claimed.filter(connection=connection)).exists():
            continue
        if budget_for(connection).wait() > 0:
            continue
        if limiter_for(str(connection.code), "createReport").available(1) < 1:
            continue
        for pk, old in due_to_request(connection=connection, now=now)[:1]:
            # Before the listings, inventory and orders slices queued in the same tick: on
            # connect the first request is the range totals a new seller waits for.
            enqueued += _enqueue_claimed(
                SalesTrafficDay, pk, "next_attempt_at", old, task_function, STEP_PRIORITY
            )
        if app_scope and enqueued:
            break
    return enqueued
