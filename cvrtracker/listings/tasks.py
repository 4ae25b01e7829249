"""Background entry points of the listings app."""

from __future__ import annotations

import logging

from django.tasks import task

from cvrtracker.amazon.selectors import connection_for_task, datakiosk_query_asins

from .inference import listing_changes_derive

logger = logging.getLogger(__name__)


@task()
def derive_listing_changes(
    connection_id: int, marketplace_id: str, datakiosk_query_id: int | None = None
) -> int:
    """Recompute the inferred and derived changes after new metrics were stored (of the
    ASINs of the Data Kiosk query `datakiosk_query_id`, None: all); returns how many
    rows were added, updated or removed (-1 when the connection is gone)."""
    connection = connection_for_task(connection_id)
    if connection is None:
        return -1
    asins = datakiosk_query_asins(connection_id, datakiosk_query_id)
    try:
        result = listing_changes_derive(
            connection=connection, marketplace_id=marketplace_id, asins=asins
        )
    except Exception:
        # The metrics are stored; the next ingest derives again. Say why this one failed.
        logger.exception(
            "deriving listing changes of %s %s failed", connection.code, marketplace_id
        )
        raise
    return result.added + result.updated + result.removed
