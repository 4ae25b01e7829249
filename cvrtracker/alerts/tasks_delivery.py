"""Background entry points for sending: load the row, call the service.

Retries are data (Delivery.next_attempt_at), not in-place task retries: a failed
send is rescheduled by delivery_send and picked up by a deferred task or the sweep.
"""

from __future__ import annotations

from django.tasks import task

from cvrtracker.alerts.delivery import channel_send_test, delivery_send
from cvrtracker.alerts.models import AlertChannel


@task()
def deliver(delivery_id: int) -> str:
    """Send one delivery if it is still due; returns its status ("" if not taken)."""
    return delivery_send(delivery_id=delivery_id)


@task()
def send_test(channel_id: int) -> str:
    """Send a test message on a channel; returns "" or the error (never the target)."""
    channel = AlertChannel.objects.select_related("team", "member").filter(pk=channel_id).first()
    if channel is None:
        return "the channel was removed"
    return channel_send_test(channel=channel)
