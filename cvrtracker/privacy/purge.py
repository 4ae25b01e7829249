"""Deleting a stopped seller connection's Amazon data: the purge and its receipt.

A disconnect, a revocation (LWA invalid_grant) or an account deletion stops the
connection at once (amazon/services.py: tokens and data key destroyed in one UPDATE,
stopped_at set). Then this module deletes every SP-API-derived row of it, in
batches of BATCH rows, children first, each batch in its own transaction with the
receipt's counts, so that a purge that crashes half-way resumes where it stopped and
still counts each row once. The last step deletes the connection row itself (it
holds the seller id), marks the receipt purged, adds to the anonymous counters and
audits, in one transaction; then the team's owner gets the receipt by email.

Two runs at once are safe: they delete disjoint batches (a row deleted by the other
counts 0 here) and the last step runs once, under a lock on the connection row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from cvrtracker.accounts.models import Team, User
from cvrtracker.amazon.models import RateLimitState, SellerConnection
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.lib.emails import email_send
from cvrtracker.privacy.models import AnonymousCounter, ConnectionDeletion

logger = logging.getLogger(__name__)

Reason = ConnectionDeletion.Reason
BATCH = 2000
# The purge task normally runs within seconds of the stop; the retention rule leaves
# a connection stopped less than this long ago to it, and purges older ones itself (a
# lost task). Far inside AMAZON_DATA_PURGE_DAYS, so the limit holds with the daily run.
TASK_GRACE = timedelta(hours=1)

# (kind on the receipt, model, lookup from the model to the connection's id), children
# before their parents. test_purge.py walks every model that reaches SellerConnection
# through foreign keys, so that a new one cannot be left out by accident.
PLAN: tuple[tuple[str, str, str], ...] = (
    ("impact_figures", "impact.ChangeImpact", "change__connection"),
    ("alert_deliveries", "alerts.Delivery", "alert__connection"),
    ("alerts", "alerts.Alert", "connection"),
    ("alert_conditions", "alerts.AlertCondition", "connection"),
    ("alert_conditions", "alerts.AlertCondition", "rule__connection"),
    ("alert_rule_channels", "alerts.RuleChannel", "rule__connection"),
    ("alert_rules", "alerts.AlertRule", "connection"),
    ("alert_cursors", "alerts.EvaluationCursor", "connection"),
    ("changes", "listings.ListingChange", "connection"),
    ("changes", "listings.ListingChange", "listing__connection"),
    ("snapshots", "listings.ListingSnapshot", "listing__connection"),
    ("inventory_levels", "listings.InventoryLevel", "connection"),
    ("listings", "listings.Listing", "connection"),
    ("order_items", "metrics.OrderItem", "order__connection"),
    ("orders", "metrics.Order", "connection"),
    ("metric_blocks", "metrics.MetricBlock", "connection"),
    ("range_totals", "metrics.MetricRangeTotals", "connection"),
    ("sales_traffic_days", "amazon.SalesTrafficDay", "connection"),
    ("datakiosk_queries", "amazon.DataKioskQuery", "connection"),
    ("sync_jobs", "amazon.SyncJob", "connection"),
)
KIND_OF = {label: kind for kind, label, _ in reversed(PLAN)}

# What the receipt, the page and the email call each kind, in the order they list them.
LABELS = {
    "listings": "Listings",
    "snapshots": "Listing snapshots",
    "changes": "Listing changes",
    "impact_figures": "Impact figures",
    "sales_traffic_days": "Sales & Traffic report days",
    "metric_blocks": "Blocks of daily metrics",
    "range_totals": "Range totals",
    "inventory_levels": "Inventory levels",
    "orders": "Orders",
    "order_items": "Order items",
    "alerts": "Alerts",
    "alert_deliveries": "Alert deliveries",
    "alert_rules": "Alert rules about this account",
    "alert_rule_channels": "Alert rule channels",
    "alert_conditions": "Alert conditions",
    "alert_cursors": "Alert cursors",
    "sync_jobs": "Sync jobs",
    "datakiosk_queries": "Data Kiosk queries",
    "data_exports": "Data exports of your team",
}
# The anonymous totals kept after a purge (no team, seller id, ASIN or SKU).
COUNTERS = {
    "listings_purged": "listings",
    "snapshots_purged": "snapshots",
    "changes_purged": "changes",
    "sales_traffic_days_purged": "sales_traffic_days",
    "metric_blocks_purged": "metric_blocks",
    "orders_purged": "orders",
    "order_items_purged": "order_items",
    "alerts_purged": "alerts",
}


class ConnectionNotStopped(Exception):
    """A purge was asked for a connection that may still call Amazon."""


def reason_of(connection: SellerConnection) -> str:
    """Why a stopped connection stopped, as its receipt says it."""
    if connection.status == SellerConnection.Status.REVOKED:
        return Reason.REVOKED
    return Reason.DISCONNECTED


def connection_purge(
    *,
    connection: SellerConnection | None = None,
    connection_id: int | None = None,
    reason: str,
) -> ConnectionDeletion | None:
    """Delete every SP-API-derived row of a stopped connection, then the connection;
    returns its receipt, or None when nothing of it is left (purged already).

    ConnectionNotStopped for a connection that is still active: stop it first
    (connection_disconnect, or connection_stop_and_purge)."""
    pk = connection.pk if connection is not None else connection_id
    row = SellerConnection.objects.select_related("team").filter(pk=pk).first()
    if row is None:
        return None
    if not row.is_stopped:
        raise ConnectionNotStopped(str(row.code))
    receipt = _receipt(row, reason)
    for _kind, label, lookup in PLAN:
        _delete_in_batches(apps.get_model(label), {lookup: row.pk}, receipt)
    _count(receipt, {"data_exports": _exports_discard(team=row.team)})
    if _finish(row, receipt):
        transaction.on_commit(lambda: connection_deletion_notify(receipt=receipt))
    receipt.refresh_from_db()
    return receipt


def _receipt(row: SellerConnection, reason: str) -> ConnectionDeletion:
    """The connection's receipt, made once (under a lock on the connection row); makes
    sure its key and tokens are gone (a connection stopped before this code held them)."""
    now = timezone.now()
    with transaction.atomic():
        locked = SellerConnection.objects.select_for_update().get(pk=row.pk)
        SellerConnection.objects.filter(pk=row.pk).update(
            wrapped_data_key=None,
            refresh_token_enc=None,
            access_token_enc=None,
            access_token_expires_at=None,
            next_sync_at=None,
            stopped_at=Coalesce(F("stopped_at"), now),
        )
        locked.refresh_from_db(fields=["stopped_at"])
        receipt, _ = ConnectionDeletion.objects.get_or_create(
            team_id=row.team_id,
            connection_code=row.code,
            defaults={
                "region": row.region,
                "reason": reason if reason in Reason.values else Reason.DISCONNECTED,
                "stopped_at": locked.stopped_at,
            },
        )
    return receipt


def _delete_in_batches(model, where: dict, receipt: ConnectionDeletion) -> None:
    """Delete the model's rows of the connection BATCH at a time, each batch committed
    with its count on the receipt: a crash loses no count and repeats no delete."""
    rows = model.objects.filter(**where)
    while True:
        pks = list(rows.values_list("pk", flat=True)[:BATCH])
        if not pks:
            return
        with transaction.atomic():
            _, by_label = model.objects.filter(pk__in=pks).delete()
            _count(receipt, _by_kind(by_label))


def _by_kind(by_label: dict[str, int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label, n in by_label.items():
        kind = KIND_OF.get(label)
        if kind and n:
            counts[kind] = counts.get(kind, 0) + n
    return counts


def _count(receipt: ConnectionDeletion, deleted: dict[str, int]) -> None:
    """Add to the receipt's counts (under its row lock: two purges may run at once)."""
    with transaction.atomic():
        row = ConnectionDeletion.objects.select_for_update().get(pk=receipt.pk)
        for kind, n in deleted.items():
            if n:
                row.counts[kind] = row.counts.get(kind, 0) + n
        row.save(update_fields=["counts"])
    receipt.counts = row.counts


def _exports_discard(*, team: Team) -> int:
    """Delete the team's data exports, rows and files: they hold this seller's data."""
    from cvrtracker.privacy.export import data_exports_discard_for_team

    return int(data_exports_discard_for_team(team=team) or 0)


def _finish(row: SellerConnection, receipt: ConnectionDeletion) -> bool:
    """Delete the connection row, mark the receipt purged, count and audit, once;
    False when another purge finished it first."""
    with transaction.atomic():
        locked = SellerConnection.objects.select_for_update().filter(pk=row.pk).first()
        if locked is None:
            return False
        RateLimitState.objects.filter(key__startswith=f"{row.code}:").delete()
        # Anything a sync wrote while this purge ran goes with the row (the cascade),
        # counted too.
        _, by_label = locked.delete()
        _count(receipt, _by_kind(by_label))
        receipt.purged_at = timezone.now()
        receipt.save(update_fields=["purged_at"])
        counters_add(
            {"connections_purged": 1}
            | {key: receipt.counts.get(kind, 0) for key, kind in COUNTERS.items()}
        )
        audit_record(
            action=AuditEntry.Action.AMAZON_DATA_PURGED,
            team=row.team,
            target=receipt,
            detail=receipt.reason,
        )
    logger.info("Seller connection %s purged: %s", row.code, receipt.counts)
    return True


def counters_add(values: dict[str, int]) -> None:
    """Add to anonymous site-wide counters (privacy.AnonymousCounter), creating them."""
    AnonymousCounter.objects.bulk_create(
        [AnonymousCounter(key=key) for key in values], ignore_conflicts=True
    )
    for key, n in values.items():
        if n:
            AnonymousCounter.objects.filter(key=key).update(value=F("value") + n)


def connection_deletion_notify(*, receipt: ConnectionDeletion) -> bool:
    """Email the team's owner what was deleted and when, once; True when sent now."""
    owner: User | None = receipt.team.owner()
    if owner is None:
        return False
    claimed = ConnectionDeletion.objects.filter(
        pk=receipt.pk, purged_at__isnull=False, notified_at=None
    ).update(notified_at=timezone.now())
    if not claimed:
        return False
    receipt.refresh_from_db()
    try:
        email_send(
            to=owner.email,
            template="amazon-data-deleted",
            context={"user": owner, "receipt": receipt, "rows": receipt_rows(receipt)},
        )
    except Exception:
        # The retention rule tries again (connection_purge_due).
        ConnectionDeletion.objects.filter(pk=receipt.pk).update(notified_at=None)
        logger.exception("The deletion receipt %s could not be emailed", receipt.code)
        return False
    return True


def receipt_rows(receipt: ConnectionDeletion) -> list[tuple[str, int]]:
    """(label, count) of what was deleted, in LABELS' order, kinds with rows only."""
    return [(label, receipt.counts[k]) for k, label in LABELS.items() if receipt.counts.get(k)]


def connection_purge_due(*, now: datetime) -> int:
    """The retention rule: purge every stopped connection the purge task has not (a
    lost task, a connection stopped before this code), and email receipts whose email
    failed; returns the rows deleted.

    A connection stopped less than TASK_GRACE ago is left to its task, unless
    AMAZON_DATA_PURGE_DAYS is 0; so nothing outlives AMAZON_DATA_PURGE_DAYS with a
    daily run."""
    grace = min(TASK_GRACE, timedelta(days=settings.AMAZON_DATA_PURGE_DAYS))
    due = SellerConnection.objects.stopped().filter(
        Q(stopped_at__isnull=True) | Q(stopped_at__lte=now - grace)
    )
    deleted = 0
    for row in due.order_by("pk"):
        receipt = connection_purge(connection=row, reason=reason_of(row))
        if receipt is not None:
            deleted += sum(receipt.counts.values())
    for receipt in ConnectionDeletion.objects.filter(purged_at__isnull=False, notified_at=None):
        connection_deletion_notify(receipt=receipt)
    return deleted


def connection_stop_and_purge(
    *, connection: SellerConnection, reason: str = Reason.ACCOUNT_DELETED, actor=None
) -> None:
    """Stop the connection as a disconnect does (no call from now on, key destroyed),
    then purge its data now (account deletion: privacy/deletion.py)."""
    from cvrtracker.amazon.services import connection_disconnect

    if not connection.is_stopped:
        connection_disconnect(connection=connection, actor=actor, reason=reason)
    connection_purge(connection=connection, reason=reason)
