"""python manage.py amazonsim: run the Amazon SP-API simulator until SIGINT or SIGTERM."""

from __future__ import annotations

import os
import signal
import threading
from argparse import BooleanOptionalAction
from datetime import date
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cvrtracker.simulator.reports import SALES_AND_TRAFFIC
from cvrtracker.simulator.server import SimulatorServer
from cvrtracker.simulator.specs import ModelsMissing
from cvrtracker.simulator.tls import default_ca_dir


class Command(BaseCommand):
    help = "Run the Amazon SP-API simulator (HTTPS on loopback, in-memory seeded world)."
    # The simulator needs neither the database nor the main site's checks to pass.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--sellers", type=int, default=1)
        parser.add_argument("--asins", type=int, default=200)
        parser.add_argument(
            "--marketplaces",
            type=int,
            default=None,
            help="how many of its region's marketplaces each seller sells in (default: all)",
        )
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--change-rate",
            type=float,
            default=None,
            metavar="N",
            help="background content changes per product and year "
            "(default: $SIM_CHANGE_RATE, else about 0.027: 5%% of products changed once)",
        )
        parser.add_argument(
            "--cvr-noise",
            type=float,
            default=None,
            metavar="SIGMA",
            help="sigma of each product-day's log-normal conversion shock "
            "(default: $SIM_CVR_NOISE, else 0.15; 0 leaves only the binomial noise)",
        )
        parser.add_argument("--quota", choices=("real", "relaxed"), default="real")
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="the simulated first day (YYYY-MM-DD); defaults to today's UTC date",
        )
        parser.add_argument(
            "--start-days-ago",
            type=int,
            default=int(os.environ.get("SIM_REPLAY_DAYS") or 0),
            metavar="N",
            help="start the clock N days before the first day, for a replay to catch up "
            "(default: $SIM_REPLAY_DAYS or 0)",
        )
        parser.add_argument(
            "--plain-http", action="store_true", help="serve plain HTTP (debugging only)"
        )
        budget = parser.add_argument_group(
            "Sales & Traffic budget",
            "GET_SALES_AND_TRAFFIC_REPORT: 1 request / 15 min and 96 / day since 2026-04-24 "
            "(relaxed quota divides both times by 100, 96 stays 96)",
        )
        budget.add_argument(
            "--st-budget",
            action=BooleanOptionalAction,
            default=None,
            help="meter the Sales & Traffic budget (default: on, or $SIM_ST_BUDGET)",
        )
        budget.add_argument(
            "--st-other-apps-per-day",
            type=int,
            default=None,
            metavar="N",
            help="of the 96 a day, how many the seller's other apps use "
            "(default: $SIM_ST_OTHER_APPS_PER_DAY or 0)",
        )
        budget.add_argument(
            "--st-scope",
            choices=("seller", "app"),
            default=None,
            help="one budget per seller, or one for the app across all sellers "
            "(default: $SIM_ST_SCOPE or seller)",
        )
        parser.add_argument(
            "--report-queue-seconds",
            type=float,
            default=None,
            help="simulated seconds a report waits IN_QUEUE before its turn "
            "(default: $SIM_REPORT_QUEUE_SECONDS, else 5, or 0.2 when relaxed)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["host"] not in ("127.0.0.1", "localhost", "::1"):
            self.stderr.write("warning: the control API refuses non-loopback clients anyway")
        try:
            server = self._start(options)
        except OSError as error:
            raise CommandError(f"cannot listen on port {options['port']}: {error}") from error
        except (ValueError, ModelsMissing) as error:
            raise CommandError(str(error)) from error
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            # shutdown() waits for serve_forever, so it must run off the serving thread.
            if not stopping.is_set():
                stopping.set()
                threading.Thread(target=server.stop, daemon=True).start()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        sellers = ", ".join(s.id for s in server.world.sellers)
        self.stdout.write(f"Amazon SP-API simulator at {server.base_url}")
        self.stdout.write(f"CA certificate: {server.ca_path or '(plain HTTP, no TLS)'}")
        self.stdout.write(f"Sellers: {sellers}; seed {options['seed']}; quota {options['quota']}")
        if options["start_days_ago"]:
            self.stdout.write(
                f"Clock: {server.world.clock.now():%Y-%m-%d %H:%M} UTC, "
                f"{options['start_days_ago']} days behind; a replay catches it up"
            )
        budget = server.sim.limiter.report_budgets.get(SALES_AND_TRAFFIC)
        if budget is None:
            self.stdout.write("Sales & Traffic budget: off")
        else:
            self.stdout.write(
                f"Sales & Traffic budget: 1 per {budget.interval:g} s, {budget.ours_per_day} of "
                f"{budget.per_day} per {budget.day:g} s, per {budget.scope}"
            )
        self.stdout.flush()
        server.serve_forever()
        self.stdout.write("Simulator stopped.")

    def _start(self, options: dict[str, Any]) -> SimulatorServer:
        return SimulatorServer(
            host=options["host"],
            port=options["port"],
            seed=options["seed"],
            sellers=options["sellers"],
            asins=options["asins"],
            marketplaces=options["marketplaces"],
            cvr_noise=options["cvr_noise"],
            change_rate=options["change_rate"],
            quota=options["quota"],
            today=options["today"],
            start_days_ago=options["start_days_ago"],
            plain_http=options["plain_http"],
            grants_file=default_ca_dir() / "grants.json",
            quiet=options["verbosity"] < 2,
            st_budget=options["st_budget"],
            st_other_apps_per_day=options["st_other_apps_per_day"],
            st_scope=options["st_scope"],
            report_queue_seconds=options["report_queue_seconds"],
        )
