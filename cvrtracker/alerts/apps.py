from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "cvrtracker.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        # The sync's apps do not import alerts: they send signals, connected here.
        from django.conf import settings

        from cvrtracker.lib.crypto import wrapped_key_register
        from cvrtracker.lib.periodic import periodic_register
        from cvrtracker.listings.signals import inventory_stored, listing_changes_stored
        from cvrtracker.metrics.signals import metrics_days_stored

        from . import tasks

        wrapped_key_register(
            model="alerts.AlertChannel", field="wrapped_key", context=lambda c: c.context()
        )
        listing_changes_stored.connect(tasks.on_listing_changes_stored, dispatch_uid="alerts")
        inventory_stored.connect(tasks.on_inventory_stored, dispatch_uid="alerts")
        metrics_days_stored.connect(tasks.on_metrics_days_stored, dispatch_uid="alerts")
        periodic_register(
            name="alerts.schedule",
            function=tasks.alerts_schedule,
            every_seconds=settings.ALERTS_EVALUATE_EVERY_SECONDS,
        )
        # Deliveries whose task was lost or whose worker died: enqueued again once due.
        periodic_register(
            name="alerts.deliveries",
            function=_deliveries_enqueue_due,
            every_seconds=settings.ALERTS_SWEEP_EVERY_SECONDS,
        )


def _deliveries_enqueue_due() -> int:
    # Imported when the scheduler runs it: the delivery side loads the HTTP client.
    from .delivery import deliveries_enqueue_due

    return deliveries_enqueue_due()
