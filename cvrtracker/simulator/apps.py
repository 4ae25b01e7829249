from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    """The Amazon SP-API simulator: no models, no migrations, its own WSGI handler."""

    name = "cvrtracker.simulator"
    label = "simulator"
    verbose_name = "Amazon SP-API simulator"
