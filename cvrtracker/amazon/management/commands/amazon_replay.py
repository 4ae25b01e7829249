"""`manage.py amazon_replay`: live through the simulator's past days with the real sync.

Start the simulator in the past (amazonsim --start-days-ago N), connect a seller,
then replay: the simulator's clock moves a day at a time to its present and the
connections are synced late in each day, so their listing history is built as
if the tracker had been running all along (see amazon/sync/replay.py). Run it
while no worker or scheduler serves these connections. Never against Amazon.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.sync.replay import MARGIN, ReplayRefused, connections_replay


class Command(BaseCommand):
    help = "Replay the simulator's past days through the real sync (simulator only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="replay only the last N days (default: from where the simulator's clock is)",
        )
        parser.add_argument(
            "--connection",
            action="append",
            default=None,
            metavar="CODE",
            help="a seller connection's code (repeatable; default: every active one)",
        )
        parser.add_argument(
            "--orders", action="store_true", help="sync orders too (slow: their quota)"
        )
        parser.add_argument(
            "--margin-minutes",
            type=float,
            default=MARGIN.total_seconds() / 60,
            help="sync this long before the earliest local midnight of each day",
        )

    def handle(self, *args, days, connection, orders, margin_minutes, **options):
        connections = SellerConnection.objects.filter(status=SellerConnection.Status.ACTIVE)
        if connection:
            connections = connections.filter(code__in=connection)
        connections = list(connections.order_by("pk"))
        if not connections:
            raise CommandError("No active seller connection to replay.")
        started = time.monotonic()

        def progress(day: date, at: datetime) -> None:
            self.stdout.write(f"{day}: synced at {at:%Y-%m-%d %H:%M} UTC")

        try:
            result = connections_replay(
                connections=connections,
                days=days,
                orders=orders,
                margin=timedelta(minutes=margin_minutes),
                progress=progress if options["verbosity"] > 1 else None,
            )
        except ReplayRefused as error:
            raise CommandError(str(error)) from None
        seconds = time.monotonic() - started
        if not result.days:
            self.stdout.write("The simulator's clock is at its present: nothing to replay.")
        else:
            self.stdout.write(
                f"Replayed {len(result.days)} days ({result.days[0]} to {result.days[-1]}) "
                f"for {len(connections)} seller account(s) in {seconds:.0f} s; "
                f"now {result.ended_at:%Y-%m-%d %H:%M} UTC."
            )
        if result.failures:
            self.stderr.write(
                f"{result.failures} sync run(s) failed during the replay; "
                "they are due again and the scheduler retries them."
            )
