"""`manage.py alerts_sweep`: enqueue alert deliveries that are due and held by no worker.

The scheduler process runs the same sweep on its tick (through the periodic hook);
this command is for cron-style installs and tests: `--once`, or a loop until SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from cvrtracker.alerts.delivery import deliveries_enqueue_due

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Enqueue due alert deliveries (lost tasks, retries, killed workers)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one sweep, then exit")
        parser.add_argument("--interval", type=float, default=settings.ALERTS_SWEEP_EVERY_SECONDS)

    def handle(self, *args, once: bool, interval: float, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
        while not stop.is_set():
            try:
                count = deliveries_enqueue_due()
            except Exception:
                logger.exception("alerts sweep failed")
                count = 0
            if count and options.get("verbosity", 1) > 1:
                self.stdout.write(f"enqueued {count}")
            if once:
                break
            close_old_connections()
            stop.wait(interval)
