"""Background entry points of the rules side: evaluate an account's rules, create
digests, and the hooks that wake them when the sync stores new data.

The sync knows nothing of alerts: the listings and metrics apps send signals
(listings/signals.py, metrics/signals.py) and AlertsConfig.ready() connects the
receivers below, which enqueue an evaluation once the storing transaction commits,
and only for a team with a rule of that sort switched on. The scheduler process runs
`alerts_schedule` periodically (lib/periodic.py): every account with enabled rules
is evaluated (a safety net for a missed hook, and the clock of the state rules) and
due digests are created.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.tasks import task

from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.selectors import connection_for_task
from cvrtracker.lib import clock

from .kinds import EVENT_KINDS, STATE_KINDS
from .models import AlertRule

logger = logging.getLogger(__name__)

# Metrics days older than this do not move a state rule (a backfill's old days).
RECENT_METRICS_DAYS = 7


@task()
def evaluate_alerts(connection_id: int, marketplace_id: str = "", state: bool = True) -> int:
    """Evaluate the account's enabled rules (state rules in `marketplace_id`, "" for all;
    `state=False`: only the new listing changes); returns the alerts raised, -1 when
    the account is gone."""
    connection = connection_for_task(connection_id)
    if connection is None:
        return -1
    # Imported here: the hooks below are connected in every process (web included),
    # and the evaluation's statistics (numpy, the impact code) are a worker's business.
    from .evaluate import alerts_evaluate

    try:
        alerts = alerts_evaluate(
            connection=connection, marketplace_id=marketplace_id or None, state=state
        )
    except Exception:
        logger.exception("evaluating the alerts of %s failed", connection.code)
        raise
    if alerts:
        logger.info("alerts of %s: %s raised", connection.code, len(alerts))
    return len(alerts)


def _has_rules(connection: SellerConnection, kinds) -> bool:
    return (
        AlertRule.objects.filter(team_id=connection.team_id, enabled=True, kind__in=kinds)
        .filter(Q(connection__isnull=True) | Q(connection=connection))
        .exists()
    )


def _enqueue_if(connection: SellerConnection, kinds, marketplace_id: str, state: bool) -> None:
    """After the storing transaction commits (so the sync's transaction runs no query of
    ours): enqueue an evaluation if the team has a rule of `kinds` on."""

    def enqueue() -> None:
        if _has_rules(connection, kinds):
            evaluate_alerts.enqueue(connection.pk, marketplace_id, state)

    transaction.on_commit(enqueue, robust=True)


def on_listing_changes_stored(sender, *, connection, marketplace_ids, count, **kwargs) -> None:
    """New listing changes: evaluate the event rules (cheap: the new rows only)."""
    _enqueue_if(connection, EVENT_KINDS, "", False)


def on_inventory_stored(sender, *, connection, marketplace_id, **kwargs) -> None:
    """New quantities: the low stock rules."""
    _enqueue_if(connection, (AlertRule.Kind.LOW_STOCK,), marketplace_id, True)


def on_metrics_days_stored(sender, *, connection, marketplace_id, days, **kwargs) -> None:
    """New Sales & Traffic days: the state rules, when a recent day arrived."""
    today = marketplace_today(marketplace_id, clock.now())
    if days and max(days) >= today - timedelta(days=RECENT_METRICS_DAYS):
        _enqueue_if(connection, STATE_KINDS, marketplace_id, True)


def alerts_schedule() -> int:
    """The periodic job: enqueue an evaluation of every active account whose team has
    a rule on, and create the due digests; returns the evaluations enqueued."""
    teams = AlertRule.objects.filter(enabled=True).exclude(kind=AlertRule.Kind.DIGEST)
    connections = SellerConnection.objects.filter(
        status=SellerConnection.Status.ACTIVE, team_id__in=teams.values("team_id")
    ).exclude(wrapped_data_key=None)
    enqueued = 0
    for pk in connections.values_list("pk", flat=True):
        evaluate_alerts.enqueue(pk, "", True)
        enqueued += 1
    try:
        from .digest import digests_create

        digests_create()
    except Exception:
        logger.exception("creating the alert digests failed")
    return enqueued
