"""Background entry points: load the row, call the service. Nothing else lives here."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.tasks import task

from cvrtracker.amazon.client import AmazonError
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import connection_sync_marketplaces


@task()
def sync_marketplaces(connection_id: int) -> bool:
    """Refresh a connection's marketplaces; True when done, False when skipped or failed.

    A failure is recorded on the connection (in the seller's words) with a new
    due time, and a revoked grant stops the connection, so nothing is raised
    for the worker to retry blindly.
    """
    connection = SellerConnection.objects.filter(
        pk=connection_id, status=SellerConnection.Status.ACTIVE
    ).first()
    if connection is None:
        return False  # disconnected or revoked since it was queued: no call
    try:
        connection_sync_marketplaces(connection=connection)
    except AmazonError:
        return False
    return True


def enqueue_sync_marketplaces(connection: SellerConnection) -> None:
    """Queue the sync once the current transaction has committed the row it reads."""
    transaction.on_commit(partial(sync_marketplaces.enqueue, connection.pk))
