from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "cvrtracker.alerts"
    label = "alerts"
    verbose_name = "Alerts"
