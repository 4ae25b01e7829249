"""Reads of seller accounts that need nothing of the SP-API client (light to import:
the alerts' hooks load this in every process)."""

from __future__ import annotations

from cvrtracker.amazon.models import SellerConnection


def connection_for_task(connection_id: int) -> SellerConnection | None:
    """The seller account a background task may still work on: neither disconnected
    nor with its data key shredded; None otherwise (the task then does nothing)."""
    return (
        SellerConnection.objects.filter(pk=connection_id)
        .exclude(wrapped_data_key=None)
        .exclude(status=SellerConnection.Status.DISCONNECTED)
        .first()
    )
