"""Background entry points: recompute a marketplace's impacts as new days arrive.

The sync enqueues `derive_and_measure` where it used to enqueue the listings app's
derivation alone (after each Sales & Traffic day, and after the last Data Kiosk
chunk of a marketplace): the stock-outs and Buy Box losses it derives bound the
impact windows, so the impacts are measured after it, in the same task. After a
listings sweep stores new content or price changes, `refresh_impacts` shows them
at once ("not enough data yet — verdict on …").
"""

from __future__ import annotations

import logging

from django.tasks import task

from cvrtracker.amazon.selectors import connection_for_task, datakiosk_query_asins
from cvrtracker.listings.inference import listing_changes_derive

from .services import impact_refresh

logger = logging.getLogger(__name__)


@task()
def refresh_impacts(connection_id: int, marketplace_id: str) -> int:
    """Recompute every impact of the connection in the marketplace; returns how many
    were stored (-1 when the connection is gone)."""
    connection = connection_for_task(connection_id)
    if connection is None:
        return -1
    try:
        result = impact_refresh(connection=connection, marketplace_id=marketplace_id)
    except Exception:
        logger.exception("measuring the impacts of %s %s failed", connection.code, marketplace_id)
        raise
    logger.info(
        "impacts of %s %s: %s in %.2f s (kappa %s)",
        connection.code,
        marketplace_id,
        result.stored,
        result.seconds,
        result.kappa,
    )
    return result.changes


@task()
def derive_and_measure(
    connection_id: int, marketplace_id: str, datakiosk_query_id: int | None = None
) -> int:
    """Derive the inferred and derived changes of the ASINs of the Data Kiosk query
    `datakiosk_query_id` (None: all) from the stored metrics, then recompute the
    marketplace's impacts; returns the impacts stored."""
    connection = connection_for_task(connection_id)
    if connection is None:
        return -1
    asins = datakiosk_query_asins(connection_id, datakiosk_query_id)
    try:
        listing_changes_derive(connection=connection, marketplace_id=marketplace_id, asins=asins)
    except Exception:
        logger.exception(
            "deriving listing changes of %s %s failed", connection.code, marketplace_id
        )
        raise
    return refresh_impacts.call(connection_id, marketplace_id)
