from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "cvrtracker.privacy"
    label = "privacy"
    verbose_name = "Privacy: export, deletion, purge and retention"

    def ready(self) -> None:
        from django.conf import settings

        from cvrtracker.lib.crypto import wrapped_key_register
        from cvrtracker.lib.periodic import periodic_register
        from cvrtracker.privacy import receivers  # noqa: F401  (connects the signal receivers)
        from cvrtracker.privacy.retention import retention_run

        periodic_register(
            name="privacy.retention",
            function=retention_run,
            every_seconds=settings.RETENTION_EVERY_SECONDS,
        )
        # Each data export's file key, re-wrapped by a master-key rotation.
        wrapped_key_register(
            model="privacy.DataExport",
            field="wrapped_key",
            context=lambda export: export.key_context(),
        )
