from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "cvrtracker.metrics"
    label = "metrics"
    verbose_name = "Sales & Traffic metrics and orders"
