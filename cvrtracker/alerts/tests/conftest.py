"""The alerts tests' fixtures.

Until the delivery side (alerts/delivery.py, a sibling branch) is merged, its
`deliveries_create` contract is stood in for here in its simplest form: one PENDING
Delivery per subscribed, not unsubscribed, not paused channel of the alert's rule.
Once delivery.py exists this does nothing.
"""

from __future__ import annotations

import importlib.util
import sys
import types

import cvrtracker.alerts
from cvrtracker.billing.tests.conftest import stripe_server  # noqa: F401

if importlib.util.find_spec("cvrtracker.alerts.delivery") is None:

    def deliveries_create(*, alert):
        from cvrtracker.alerts.models import AlertChannel, Delivery

        if alert.rule is None:
            return []
        subscriptions = alert.rule.subscriptions.filter(unsubscribed_at=None).exclude(
            channel__status=AlertChannel.Status.PAUSED
        )
        return [
            Delivery.objects.get_or_create(alert=alert, channel_id=sub.channel_id)[0]
            for sub in subscriptions
        ]

    stand_in = types.ModuleType("cvrtracker.alerts.delivery")
    stand_in.deliveries_create = deliveries_create
    sys.modules["cvrtracker.alerts.delivery"] = stand_in
    cvrtracker.alerts.delivery = stand_in
