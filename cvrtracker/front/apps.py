from django.apps import AppConfig


class FrontConfig(AppConfig):
    name = "cvrtracker.front"
    label = "front"
