"""Reads of seller accounts that need nothing of the SP-API client (light to import:
the alerts' hooks load this in every process)."""

from __future__ import annotations

from cvrtracker.amazon.models import DataKioskQuery, SellerConnection


def connection_for_task(connection_id: int) -> SellerConnection | None:
    """The seller account a background task may still work on: neither disconnected
    nor with its data key shredded; None otherwise (the task then does nothing)."""
    return (
        SellerConnection.objects.filter(pk=connection_id)
        .exclude(wrapped_data_key=None)
        .exclude(status=SellerConnection.Status.DISCONNECTED)
        .first()
    )


def datakiosk_query_asins(connection_id: int, query_id: int | None) -> list[str] | None:
    """The ASINs of a connection's Data Kiosk query, for a task given the query's id
    (a task's arguments are ids, never Amazon values: the queue may be Redis);
    None (every ASIN) without an id or when the row is gone."""
    if query_id is None:
        return None
    return (
        DataKioskQuery.objects.filter(pk=query_id, connection_id=connection_id)
        .values_list("asins", flat=True)
        .first()
    )
