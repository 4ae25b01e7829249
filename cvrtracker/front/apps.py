from django.apps import AppConfig


class FrontConfig(AppConfig):
    name = "cvrtracker.front"
    label = "front"

    def ready(self):
        from cvrtracker.front import checks  # noqa: F401 - registers the deploy checks
