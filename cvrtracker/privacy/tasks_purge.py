"""The purge's background entry point (privacy/receivers.py queues it on a stop).

Light at import: the purge module, and the models of every app it deletes from, are
loaded when the task runs, not by every process that loads the task registry.
"""

from __future__ import annotations

from django.tasks import task


@task()
def connection_purge_task(connection_id: int, reason: str) -> int:
    """Purge a stopped connection's data; returns the rows deleted (0 when a previous
    or concurrent run did it). A crash leaves the rest to the next run or to the
    retention rule (privacy.purge:connection_purge_due)."""
    from cvrtracker.privacy.purge import connection_purge

    receipt = connection_purge(connection_id=connection_id, reason=reason)
    return sum(receipt.counts.values()) if receipt is not None else 0
