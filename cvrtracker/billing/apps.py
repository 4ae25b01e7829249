from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "cvrtracker.billing"
    label = "billing"
    verbose_name = "Billing"
