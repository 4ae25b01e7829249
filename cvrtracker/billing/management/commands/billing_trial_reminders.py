from django.core.management.base import BaseCommand

from cvrtracker.billing.services import subscription_remind_trials


class Command(BaseCommand):
    help = "Email owners whose free trial ends within three days (once per trial). Run daily."

    def handle(self, *args, **options):
        sent = subscription_remind_trials()
        self.stdout.write(f"{sent} trial reminder(s) sent")
