from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cvrtracker.audit"
    label = "audit"
