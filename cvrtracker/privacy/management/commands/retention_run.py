"""Apply every retention rule now (the scheduler does it daily)."""

from django.core.management.base import BaseCommand, CommandError

from cvrtracker.privacy.retention import RULES, retention_run


class Command(BaseCommand):
    help = "Delete what every retention rule's period has ended (privacy/retention.py)."

    def handle(self, *args, **options):
        try:
            done = retention_run()
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        for rule in RULES:
            self.stdout.write(f"{rule.name}: {done.get(rule.name, 0)} ({rule.description})")
