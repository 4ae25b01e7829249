import logging

from django.apps import AppConfig


class AmazonConfig(AppConfig):
    name = "cvrtracker.amazon"
    label = "amazon"
    verbose_name = "Amazon seller connections"

    def ready(self) -> None:
        # httpx logs every request URL at INFO; report documents come from presigned
        # URLs whose signature must not land in logs. Our client logs what matters.
        logging.getLogger("httpx").setLevel(logging.WARNING)
