from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "cvrtracker.api"
    label = "api"
    verbose_name = "Read-only API"
