from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "cvrtracker.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
