"""Benchmark: inferred price changes and derived Buy Box / stock-out events from two years
of metrics (listings/inference.py), as the sync runs them after each metrics write.

    .venv/bin/python bench/derived_changes.py [--asins 5000] [--days 730]
    DATABASE_URL=postgres://... .venv/bin/python bench/derived_changes.py

Runs in a throwaway test database (bench_derived_changes) created and dropped by Django's
test utilities; the configured database's data is never touched.

The metrics are synthetic but shaped like a real catalogue: Poisson units at rates from
0.1 to 20 a day, 10% of the ASINs with a price step, 3% with a stock-out, 3% with a lost
Buy Box, business-discount days on a tenth of the days. Prints the time of:
- a whole marketplace, first run (every event new) and again (nothing changed), as after
  a Sales & Traffic day;
- one Data Kiosk chunk of 30 ASINs, as after each trends query of the backfill;
and how many events were found against how many were planted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvrtracker.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection as db  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

MARKET = "ATVPDKIKX0DER"
TODAY = date(2026, 11, 29)


def fill(connection, asins: list[str], days: list[date], rng: np.random.Generator) -> dict:
    """Store the synthetic history; returns how many events of each kind were planted."""
    from cvrtracker.metrics.blocks import I32, I64, DayColumn
    from cvrtracker.metrics.keys import ConnectionKeys
    from cvrtracker.metrics.services import _write, month_of

    n, d = len(asins), len(days)
    rate = np.exp(rng.uniform(np.log(0.1), np.log(20), n))
    units = rng.poisson(rate[:, None], (n, d))
    sessions = rng.poisson(rate[:, None] * 10 + 2, (n, d))
    price = np.repeat(np.round(rng.uniform(9, 60, n))[:, None] * 100 + 99, d, axis=1)
    noisy = rng.random((n, d)) < 0.1
    price = np.where(noisy, price * (1 - rng.uniform(0.02, 0.08, (n, d))), price)
    buy_box = np.full((n, d), 10000)
    planted: dict[str, set] = {"price": set(), "stock_out": set(), "buy_box": set()}
    for i in rng.choice(n, n // 10, replace=False):
        at = rng.integers(60, d - 60)
        price[i, at:] *= rng.choice([0.8, 0.9, 1.1])
        # Dated on the first day that sells at the new price.
        first = at + int(np.argmax(units[i, at:] > 0))
        planted["price"].add((asins[i], days[first]))
    for i in rng.choice(n, n * 3 // 100, replace=False):
        at = rng.integers(60, d - 60)
        units[i, at : at + 10] = 0
        units[i, at + 10] = max(1, units[i, at + 10])
        buy_box[i, at : at + 10] = 0
        planted["stock_out"] |= {(asins[i], days[at]), (asins[i], days[at + 10])}
    for i in rng.choice(n, n * 3 // 100, replace=False):
        at = rng.integers(60, d - 60)
        buy_box[i, at : at + 7] = 1500
        planted["buy_box"] |= {(asins[i], days[at]), (asins[i], days[at + 7])}
    keys = ConnectionKeys(connection)
    parents = list(asins)
    by_month: dict[date, dict[date, DayColumn]] = {}
    for j, day in enumerate(days):
        ints = np.stack(
            [
                sessions[:, j],
                sessions[:, j],
                units[:, j],
                units[:, j],
                buy_box[:, j],
                0 * units[:, j],
            ]
        ).astype(I32)
        by_month.setdefault(month_of(day), {})[day] = DayColumn(
            keys=asins,
            parents=parents,
            ints=ints,
            sales=np.rint(units[:, j] * price[:, j]).astype(I64),
            pending=np.zeros(n, bool),
        )
    for columns in by_month.values():
        with transaction.atomic():
            _write(keys, connection, MARKET, "asin", columns, "USD")
    return planted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--asins", type=int, default=5000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "bench_derived_changes"
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    try:
        run(args)
    finally:
        teardown_databases(old, verbosity=0)


def run(args: argparse.Namespace) -> None:
    from cvrtracker.accounts.models import Team
    from cvrtracker.amazon.models import SellerConnection
    from cvrtracker.listings.inference import listing_changes_derive
    from cvrtracker.listings.models import ListingChange

    print(f"database: {db.vendor}; numpy {np.__version__}")
    rng = np.random.default_rng(11)
    asins = sorted(f"B0{i * 7919 % 10**8:08d}" for i in range(args.asins))
    team = Team.objects.create(name="bench")
    connection = SellerConnection(team=team, region="NA", selling_partner_id="ABENCHDERIVED")
    connection.create_data_key()
    connection.save()
    days = [TODAY - timedelta(days=args.days - i) for i in range(args.days)]
    started = time.perf_counter()
    planted = fill(connection, asins, days, rng)
    print(
        f"dataset: {len(asins)} ASINs x {len(days)} days, stored in "
        f"{time.perf_counter() - started:.1f} s; planted "
        f"{ {kind: len(events) for kind, events in planted.items()} }"
    )

    def timed(label: str, **kwargs) -> None:
        started = time.perf_counter()
        result = listing_changes_derive(connection=connection, marketplace_id=MARKET, **kwargs)
        elapsed = time.perf_counter() - started
        print(
            f"{label:<44} {elapsed:6.2f} s  ({result.asins} ASINs: +{result.added} "
            f"~{result.updated} -{result.removed})"
        )

    timed("whole marketplace, first run:")
    timed("whole marketplace, again (nothing changed):")
    timed("one Data Kiosk chunk of 30 ASINs:", asins=asins[1000:1030])
    for kind, events in planted.items():
        found = set(ListingChange.objects.filter(field=kind).values_list("asin", "day"))
        near = {
            (asin, day)
            for asin, day in found - events
            if any((asin, day + timedelta(days=k)) in events for k in range(-3, 4))
        }
        print(
            f"{kind:<10} planted {len(events):4}, found on the day {len(found & events):4}, "
            f"within 3 days {len(near):3}, elsewhere (false) {len(found - events - near):3}"
        )


if __name__ == "__main__":
    main()
