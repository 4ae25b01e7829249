"""`manage.py scheduler`: enqueue due sync work in a loop until SIGTERM or SIGINT.

Run one or two per installation (two for availability: they never enqueue the
same item twice). Workers do the work; this loop only reads due columns.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from cvrtracker.amazon.authorization import connections_warn_reauthorization
from cvrtracker.amazon.sync.scheduler import schedule_due
from cvrtracker.billing.services import subscription_remind_trials
from cvrtracker.lib.periodic import PeriodicRunner

# Trial-ending and re-authorization emails are due at day resolution; once an
# hour is plenty, and sending is idempotent (one per trial, one per
# authorization), so several schedulers may all try.
REMINDERS_EVERY_SECONDS = 3600
REMINDERS = (subscription_remind_trials, connections_warn_reauthorization)

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Enqueue due Amazon sync jobs in a loop (stops cleanly on SIGTERM/SIGINT)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one tick, then exit")
        parser.add_argument(
            "--interval", type=float, default=settings.AMAZON_SCHEDULER_INTERVAL_SECONDS
        )

    def handle(self, *args, once: bool, interval: float, **options):
        stop = threading.Event()

        def request_stop(signum, frame):
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        ticks = 0
        reminded_at = None
        # The jobs other apps registered (alerts: evaluation, digests, retries).
        periodic = PeriodicRunner()
        while not stop.is_set():
            try:
                count = schedule_due()
            except Exception:
                # One bad tick (a database blip) must not end the loop.
                logger.exception("scheduler tick failed")
                count = 0
            if reminded_at is None or time.monotonic() - reminded_at >= REMINDERS_EVERY_SECONDS:
                reminded_at = time.monotonic()
                for remind in REMINDERS:
                    try:
                        remind()
                    except Exception:
                        logger.exception("%s failed", remind.__name__)
            periodic.run_due()
            if count and options.get("verbosity", 1) > 1:
                self.stdout.write(f"enqueued {count}")
            ticks += 1
            if once:
                break
            # Between ticks, not inside one: a restarted database never leaves the
            # loop stuck. (`--once` keeps the caller's connection, e.g. a test's.)
            close_old_connections()
            stop.wait(interval)
        self.stdout.write(f"scheduler stopped after {ticks} ticks")
