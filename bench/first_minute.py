"""The first minute of a new seller at Amazon's real quotas: every product's 30-day totals.

    SPECS_DIR=/work/shared/specs .venv/bin/python bench/first_minute.py \
        [--products 1000,10000] [--timeout 120]

For each catalogue size: a fresh SQLite database, the simulator as its own process
in `real` quota mode (the models' usage plans, and Amazon's Sales & Traffic budget
of one createReport per 15 minutes and 96 a day, per seller), and the tracker's
`scheduler` and `db_worker` as separate processes, as `make run` starts them. The
demo user connects a one-marketplace (US) seller through the simulator's consent
page, and the clock starts at Confirm. Printed:

- the seconds until `metrics_quick_totals` returns every product's totals (goal
  < 60 s), and how many rows against the catalogue;
- for comparison, when the daily per-ASIN data covers the same days: the tracker's
  Sales & Traffic plan asks one report per day at most once per 15 minutes and 24 a
  day (AMAZON_ST_BUDGET_SHARE of Amazon's 96), so the bench replays the plan's own
  order (`due_to_request`, on the rows this run planned) through our own budget
  (`RequestBudget`) on a virtual clock; Data Kiosk's trends queries cover every
  ASIN's days too, bounded by createQuery (1 a minute after a burst of 15; the
  arithmetic of bench/datakiosk_backfill.py). The daily data is complete when the
  first of the two is;
- what Amazon's own budget says after the first request (`/_sim/sales-traffic-budget`).
"""

from __future__ import annotations

import argparse
import os
import re
import ssl
import sys
import tempfile
import time
import traceback
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from amazon_sync import setup_environment, simulator, start, stop  # noqa: E402
from datakiosk_backfill import arithmetic_hours  # noqa: E402

US = "ATVPDKIKX0DER"


def connect(url: str, ca: str) -> float:
    """Click Confirm on the simulator's consent page and follow the callback; returns
    the monotonic time of the click."""
    import httpx
    from django.test import Client

    from cvrtracker.accounts.models import User

    browser = Client()
    browser.force_login(User.objects.get(email="demo@example.com"))
    consent = browser.get("/amazon/connect/NA/")["Location"]
    sim_http = httpx.Client(verify=ssl.create_default_context(cafile=ca), timeout=60)
    page = sim_http.get(consent).text
    token = re.search(r"name='consent_token' value='([^']+)'", page).group(1)
    seller = sim_http.get(f"{url}/_sim/").json()["sellers"][0]["sellerId"]
    started = time.monotonic()
    answer = sim_http.post(
        f"{url}/apps/authorize/consent",
        data={"consent_token": token, "selling_partner_id": seller, "decision": "confirm"},
    )
    callback = httpx.URL(answer.headers["Location"])
    browser.get(f"{callback.path}?{callback.query.decode()}")
    return started


def daily_report_hours(connection) -> tuple[float, int]:
    """(hours from the first request until the last daily report of the window is asked,
    reports) if nothing but the tracker's own budget held them back: the plan's order
    replayed through a RequestBudget like ours on a virtual clock."""
    from django.conf import settings
    from django.utils import timezone

    from cvrtracker.amazon.models import SalesTrafficDay
    from cvrtracker.amazon.ratelimit import RequestBudget, sales_traffic_budget
    from cvrtracker.amazon.sync.sales_traffic import due_to_request

    ours = sales_traffic_budget("timeline")
    budget = RequestBudget(
        key="first-minute-timeline",
        cap=ours.cap,
        window=ours.window,
        interval=ours.interval,
        storage="memory",
    )
    order = [
        pk
        for pk, _ in due_to_request(connection=connection, now=timezone.now() + timedelta(days=9))
    ]
    # The US days only: Brazil, listed as participating but never opened, is refused
    # at its first request (and the listings run finds nothing listed there).
    kinds = dict(
        SalesTrafficDay.objects.filter(pk__in=order, marketplace_id=US).values_list("pk", "kind")
    )
    # The range report already went: it holds the first grant.
    clock, asked = 0.0, 0
    budget.try_acquire(now=clock)
    for pk in order:
        if kinds.get(pk) != "day":
            continue
        while (wait := budget.try_acquire(now=clock)) > 0:
            clock += wait
        asked += 1
    assert asked == settings.AMAZON_REPORT_DAYS, asked
    return clock / 3600, asked


def run(products: int, timeout: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cvrt-first-minute-"))
    os.environ["VAR_DIR"] = str(tmp)
    sim, url, ca = simulator(tmp, quota="real", asins=products, extra=("--marketplaces", "1"))
    env = setup_environment(tmp, url, ca)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    call_command("migrate", verbosity=0)
    call_command("demo_setup", stdout=open(os.devnull, "w"))  # noqa: SIM115
    setup_test_environment()
    from cvrtracker.amazon.models import SalesTrafficDay, SellerConnection
    from cvrtracker.metrics.quick import metrics_quick_totals

    log = tmp / "processes.log"
    processes = [
        start(env, "scheduler", log=log),
        start(env, "db_worker", "--queue-name", "*", "--no-reload", "--interval", "0.2", log=log),
    ]
    try:
        time.sleep(3)  # both processes up, as under `make run`
        started = connect(url, ca)
        connection = SellerConnection.objects.get()
        totals = None
        while totals is None:
            if time.monotonic() - started > timeout:
                rows = list(SalesTrafficDay.objects.values_list("kind", "status", "last_error"))
                raise SystemExit(f"no quick totals after {timeout:.0f} s: {rows[:5]}")
            time.sleep(0.2)
            totals = metrics_quick_totals(connection=connection, marketplace_id=US)
        seconds = time.monotonic() - started
        import httpx

        budget = httpx.get(
            f"{url}/_sim/sales-traffic-budget",
            verify=ssl.create_default_context(cafile=ca),
        ).json()
        (seller_budget,) = budget["budgets"]
        amazon_wait = seller_budget["nextAllowedInSeconds"]
        hours, reports = daily_report_hours(connection)
        dk_hours = arithmetic_hours(products, 1, 1, processing_s=15)
        print(
            f"{products} products: every product's 30-day totals {seconds:.1f} s after "
            f"Confirm ({len(totals.rows)} ASIN rows, {totals.start}..{totals.end}) "
            f"{'OK' if seconds < 60 else 'OVER 60 s'}"
        )
        print(
            f"  Amazon's budget: {seller_budget['used']} used, next request in "
            f"{amazon_wait:.0f} s; daily "
            f"reports of the last {reports} days done after {hours:.1f} h "
            f"(1 per 15 min, 24 a day); Data Kiosk trends of every ASIN after "
            f"{dk_hours:.1f} h; daily data complete after ~{min(hours, dk_hours):.1f} h"
        )
    finally:
        for process in [*processes, sim]:
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", default="1000,10000")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    for n in [int(p) for p in args.products.split(",")]:
        # One process per size: Django is set up once per process and database.
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                run(n, args.timeout)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if status:
            raise SystemExit(f"the {n}-product run failed")


if __name__ == "__main__":
    main()
