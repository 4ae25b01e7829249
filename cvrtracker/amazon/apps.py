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
        from cvrtracker.lib.crypto import wrapped_key_register

        # Each connection's data key, re-wrapped by a master-key rotation.
        wrapped_key_register(
            model="amazon.SellerConnection",
            field="wrapped_data_key",
            context=lambda connection: connection.aad("data_key"),
        )
