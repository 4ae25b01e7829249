"""Signal receivers of the privacy app: the apps below it announce, privacy acts.

`amazon.signals.connection_stopped` (a disconnect, or a revocation first seen)
→ the SP-API purge (privacy/purge.py), in the background, at once.
`amazon.signals.connection_replaced` (a reconnect meets the seller's stopped
connection) → the same purge, now, before the new connection is made.
Kept light: heavy imports stay inside the receivers so that every web process does
not pay for them at start.
"""

from __future__ import annotations

import logging

from django.dispatch import receiver

from cvrtracker.amazon.signals import connection_replaced, connection_stopped

logger = logging.getLogger(__name__)


@receiver(connection_stopped, dispatch_uid="privacy.purge_on_stop")
def purge_on_stop(sender, *, connection, reason: str, **kwargs) -> None:
    """Queue the purge of a connection that just stopped (sent after commit). If the
    queue is down, the retention rule purges it within the hour of its next run."""
    from cvrtracker.privacy.tasks_purge import connection_purge_task

    connection_purge_task.enqueue(connection.pk, str(reason))


@receiver(connection_replaced, dispatch_uid="privacy.purge_on_reconnect")
def purge_on_reconnect(sender, *, connection, **kwargs) -> None:
    """Purge the seller's stopped connection now: the reconnect waits for it."""
    from cvrtracker.privacy.purge import connection_purge, reason_of

    connection_purge(connection=connection, reason=reason_of(connection))
