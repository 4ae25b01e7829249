"""How many of Amazon's 96 daily Sales & Traffic requests a day of normal running uses.

    .venv/bin/python bench/sales_traffic_budget.py [--days 40] [--marketplaces US,CA,MX]

Runs the tracker's own plan (`sales_traffic_plan`, the one the daily connection
sync calls) day by day over simulated days with time-machine, on a fresh SQLite
database, for one seller in the given marketplaces. Every report the plan makes
due that day is taken as fetched, the way Amazon answers (traffic still pending
for the last 3 days, models#2955), so the next day's plan sees what a real run
would have stored. Prints the requests per day and the steady state against our
cap (AMAZON_ST_BUDGET_SHARE x 96) and Amazon's 96 (models#5210).
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CODES = {
    "US": "ATVPDKIKX0DER",
    "CA": "A2EUQ1WTGCTBG2",
    "MX": "A1AM78C64UM0Y8",
    "DE": "A1PA6795UKMFR9",
    "GB": "A1F83G8C2ARO7P",
    "FR": "A13V1IB3VIYZZH",
}


def prepare(tmp: Path) -> None:
    os.environ.update(
        {
            "VAR_DIR": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "DJANGO_SETTINGS_MODULE": "cvrtracker.settings",
            # The daily plan's cost: the one range report per marketplace on connect
            # (bench/first_minute.py) needs stored totals this fake fetch does not write.
            "AMAZON_QUICK_TOTALS": "0",
        }
    )
    os.environ.pop("REDIS_URL", None)
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True
    )
    import django

    django.setup()


def run(days: int, markets: list[str], cap: int | None) -> tuple[list[int], list[int]]:
    """(requests per day, reports still waiting at the end of each day).

    With `cap`, at most that many due reports are fetched a day, in the order the
    scheduler asks for them (due_to_request): the budget's effect on a backlog.
    """
    import time_machine
    from django.utils import timezone

    from cvrtracker.accounts.models import Team
    from cvrtracker.amazon.marketplaces import marketplace_today
    from cvrtracker.amazon.models import SalesTrafficDay, SellerConnection
    from cvrtracker.amazon.sync.sales_traffic import due_to_request, sales_traffic_plan

    team = Team.objects.create(name="bench")
    connection = SellerConnection(
        team=team,
        region="NA",
        selling_partner_id=f"A1BENCH{cap or 0}",
        marketplaces=[{"id": CODES[m], "name": m, "isParticipating": True} for m in markets],
    )
    connection.create_data_key()
    connection.save()
    start = datetime(2026, 5, 1, 16, 0, tzinfo=UTC)  # the daily sync's hour: any will do
    per_day, waiting = [], []
    for n in range(days):
        with time_machine.travel(start + timedelta(days=n), tick=False):
            sales_traffic_plan(connection=connection)
            now = timezone.now()
            order = [pk for pk, _ in due_to_request(connection=connection, now=now)]
            taken = order[:cap] if cap else order
            for row in SalesTrafficDay.objects.filter(pk__in=taken):
                age = (marketplace_today(row.marketplace_id, now) - row.day).days
                row.status, row.fetched_at, row.pulled_age = "done", now, age
                row.is_pending = age <= 3
                row.save()
            per_day.append(len(taken))
            waiting.append(len(order) - len(taken))
    return per_day, waiting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--marketplaces", default="US,CA,MX")
    args = parser.parse_args()
    markets = args.marketplaces.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        prepare(Path(tmp))
        from django.conf import settings

        cap = int(96 * settings.AMAZON_ST_BUDGET_SHARE)
        print(
            f"AMAZON_REPORT_DAYS={settings.AMAZON_REPORT_DAYS}, share="
            f"{settings.AMAZON_ST_BUDGET_SHARE} (cap {cap}/day), marketplaces={','.join(markets)}"
        )
        demand, _ = run(args.days, markets, None)
        spent, waiting = run(args.days, markets, cap)
    print("reports the plan makes due per day:", " ".join(map(str, demand)))
    steady = demand[31:] or demand[-1:]
    average = sum(steady) / len(steady)
    print(
        f"normal running (days 32-{len(demand)}): {average:.1f} requests/day = "
        f"{average / len(markets):.1f} per marketplace; {average / 96:.0%} of Amazon's 96, "
        f"{average / cap:.0%} of our cap of {cap}"
    )
    print(f"with the cap of {cap}/day, requests per day:", " ".join(map(str, spent)))
    print("  reports still waiting at the end of the day:", " ".join(map(str, waiting)))
    clear = next((n + 1 for n, w in enumerate(waiting) if w == 0), None)
    print(
        f"  the first {demand[0]} reports (first pulls of {settings.AMAZON_REPORT_DAYS} days x "
        f"{len(markets)} marketplaces) and the taper are caught up on day {clear}"
    )


if __name__ == "__main__":
    main()
