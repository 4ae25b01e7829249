from django.apps import AppConfig


class ImpactConfig(AppConfig):
    name = "cvrtracker.impact"
    label = "impact"
    verbose_name = "Impact of listing changes"
