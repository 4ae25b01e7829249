"""Benchmark: Sales & Traffic rows into encrypted metric blocks, and the dashboard reads.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cvrtracker \
        .venv/bin/python bench/metrics_ingest.py [--asins 5000] [--months 24] [--runs 40]

Runs in a throwaway test database (bench_metrics_ingest) created and dropped by
Django's test utilities; the configured database's data is never touched.

Prints:
- end-to-end ingest (gzip JSON document -> parse -> encrypt -> PostgreSQL), one
  report per day as the sync pulls them, both one call per day and a month at once;
- store-only ingest for the two-year fill (numpy columns -> encrypted blocks);
- the 30-day product table (top 50 by conversion) p50/p95, plus the account
  series and one ASIN's two-year series.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
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


def document(day: date, asins: list[str], rng: np.random.Generator) -> bytes:
    """A one-day CHILD document shaped like Amazon's (and the simulator's), gzip'd."""
    n = len(asins)
    sessions = rng.poisson(30, n)
    views = sessions + rng.poisson(8, n)
    units = rng.binomial(sessions, 0.1)
    rows = [
        {
            "parentAsin": "P" + asin[1:],
            "childAsin": asin,
            "salesByAsin": {
                "unitsOrdered": int(u),
                "orderedProductSales": {"amount": round(int(u) * 24.99, 2), "currencyCode": "USD"},
                "totalOrderItems": int(u),
            },
            "trafficByAsin": {
                "browserSessions": int(s // 2),
                "mobileAppSessions": int(s - s // 2),
                "sessions": int(s),
                "browserSessionPercentage": 0.01,
                "mobileAppSessionPercentage": 0.01,
                "sessionPercentage": 0.02,
                "browserPageViews": int(v // 2),
                "mobileAppPageViews": int(v - v // 2),
                "pageViews": int(v),
                "browserPageViewsPercentage": 0.01,
                "mobileAppPageViewsPercentage": 0.01,
                "pageViewsPercentage": 0.02,
                "buyBoxPercentage": 98.5,
                "unitSessionPercentage": round(100 * int(u) / int(s), 2) if s else 0.0,
            },
        }
        for asin, s, v, u in zip(asins, sessions, views, units, strict=True)
    ]
    total_s, total_u = int(sessions.sum()), int(units.sum())
    doc = {
        "reportSpecification": {
            "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
            "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
            "dataStartTime": day.isoformat(),
            "dataEndTime": day.isoformat(),
            "marketplaceIds": [MARKET],
        },
        "salesAndTrafficByDate": [
            {
                "date": day.isoformat(),
                "salesByDate": {
                    "orderedProductSales": {"amount": total_u * 24.99, "currencyCode": "USD"},
                    "unitsOrdered": total_u,
                    "totalOrderItems": total_u,
                },
                "trafficByDate": {
                    "pageViews": int(views.sum()),
                    "sessions": total_s,
                    "buyBoxPercentage": 98.5,
                    "unitSessionPercentage": round(100 * total_u / total_s, 2),
                },
            }
        ],
        "salesAndTrafficByAsin": rows,
    }
    return gzip.compress(json.dumps(doc).encode(), compresslevel=5)


def fill(connection, asins: list[str], days: list[date], rng: np.random.Generator) -> float:
    """Store-only: numpy columns straight into the blocks; returns rows/s."""
    from cvrtracker.metrics.blocks import I32, I64, DayColumn
    from cvrtracker.metrics.keys import ConnectionKeys
    from cvrtracker.metrics.services import _write, month_of

    keys = ConnectionKeys(connection)
    parents = ["P" + a[1:] for a in asins]
    n = len(asins)
    by_month: dict[date, dict[date, DayColumn]] = {}
    for day in days:
        sessions = rng.poisson(30, n)
        units = rng.binomial(sessions, 0.1)
        ints = np.stack(
            [sessions, sessions + 8, units, units, np.full(n, 9850), np.full(n, 1000)]
        ).astype(I32)
        by_month.setdefault(month_of(day), {})[day] = DayColumn(
            keys=asins,
            parents=parents,
            ints=ints,
            sales=(units * 2499).astype(I64),
            pending=np.zeros(n, bool),
        )
    started = time.perf_counter()
    for columns in by_month.values():
        with transaction.atomic():
            _write(keys, connection, MARKET, "asin", columns, "USD")
    return len(days) * n / (time.perf_counter() - started)


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return f"p50 {statistics.median(samples) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--asins", type=int, default=5000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "bench_metrics_ingest"
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    try:
        run(args)
    finally:
        teardown_databases(old, verbosity=0)


def run(args: argparse.Namespace) -> None:
    from cvrtracker.accounts.models import Team
    from cvrtracker.amazon.models import SellerConnection
    from cvrtracker.metrics.models import MetricBlock
    from cvrtracker.metrics.report import parse_sales_traffic
    from cvrtracker.metrics.selectors import (
        metrics_account_series,
        metrics_product_series,
        metrics_product_table,
    )
    from cvrtracker.metrics.services import metrics_ingest_day, metrics_ingest_days

    print(f"database: {db.vendor} {db.settings_dict['NAME']}; numpy {np.__version__}")
    rng = np.random.default_rng(7)
    asins = [f"B0{i * 7919 % 10**8:08d}" for i in range(args.asins)]
    team = Team.objects.create(name="bench")
    connection = SellerConnection(team=team, region="NA", selling_partner_id="ABENCH")
    connection.create_data_key()
    connection.save()

    last = TODAY - timedelta(days=1)
    first = (last - timedelta(days=30 * args.months)).replace(day=1)
    all_days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    print(
        f"dataset: {len(asins)} ASINs x {len(all_days)} days = {len(asins) * len(all_days):,} rows"
    )

    # 1. End-to-end, one call per day: the daily trailing-window re-pull (14 days).
    window = all_days[-14:]
    docs = {d: document(d, asins, rng) for d in window}
    parse_started = time.perf_counter()
    for body in docs.values():
        parse_sales_traffic(body)
    parse_rate = len(window) * len(asins) / (time.perf_counter() - parse_started)
    started = time.perf_counter()
    for day, body in docs.items():
        metrics_ingest_day(connection=connection, marketplace_id=MARKET, day=day, report=body)
    per_day = len(window) * len(asins) / (time.perf_counter() - started)

    # 2. End-to-end, a month of daily reports in one call (backfill): one write per block.
    month = [d for d in all_days if d.year == all_days[-40].year and d.month == all_days[-40].month]
    docs = {d: document(d, asins, rng) for d in month}
    started = time.perf_counter()
    metrics_ingest_days(connection=connection, marketplace_id=MARKET, reports=docs)
    batched = len(month) * len(asins) / (time.perf_counter() - started)
    del docs

    # 3. Store-only fill of the rest of the two years.
    rest = [d for d in all_days if d not in set(window) | set(month)]
    store_rate = fill(connection, asins, rest, rng)

    block = MetricBlock.objects.filter(granularity="asin").order_by("-month").first()
    print(f"parse only (gzip JSON -> typed rows):         {parse_rate:>12,.0f} rows/s")
    print(f"ingest end-to-end, one call per day:          {per_day:>12,.0f} rows/s")
    print(f"ingest end-to-end, a month per call:          {batched:>12,.0f} rows/s")
    print(f"store only (numpy columns -> encrypted rows): {store_rate:>12,.0f} rows/s")
    print(
        f"blocks: {MetricBlock.objects.count()} rows; one ASIN month block = "
        f"{len(bytes(block.values_enc)) / 1e6:.2f} MB ciphertext"
    )
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("ANALYZE metrics_metricblock")

    end = last
    start = end - timedelta(days=29)
    timings, rows = [], []
    for _ in range(args.runs):
        started = time.perf_counter()
        rows = metrics_product_table(
            connection=connection,
            marketplace_id=MARKET,
            start=start,
            end=end,
            order_by="-conversion_rate",
            limit=50,
        )
        timings.append(time.perf_counter() - started)
    print(f"30-day product table, top 50 by CVR ({len(asins)} ASINs): {percentiles(timings)}")
    assert len(rows) == 50 and rows[0].conversion_rate is not None

    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        metrics_product_table(connection=connection, marketplace_id=MARKET, start=start, end=end)
        timings.append(time.perf_counter() - started)
    print(f"30-day product table, all rows:             {percentiles(timings)}")

    timings = []
    for _ in range(max(5, args.runs // 4)):
        started = time.perf_counter()
        metrics_account_series(
            connection=connection, marketplace_id=MARKET, start=all_days[0], end=end
        )
        timings.append(time.perf_counter() - started)
    print(f"account series, {len(all_days)} days:              {percentiles(timings)}")

    timings = []
    for _ in range(max(5, args.runs // 8)):
        started = time.perf_counter()
        series = metrics_product_series(
            connection=connection, asin=asins[len(asins) // 2], start=all_days[0], end=end
        )
        timings.append(time.perf_counter() - started)
    print(f"one ASIN's series, {len(series)} days:            {percentiles(timings)}")
    start = end - timedelta(days=89)
    timings = []
    for _ in range(max(5, args.runs // 4)):
        started = time.perf_counter()
        metrics_product_series(connection=connection, asin=asins[7], start=start, end=end)
        timings.append(time.perf_counter() - started)
    print(f"one ASIN's series, 90 days:                  {percentiles(timings)}")


if __name__ == "__main__":
    main()
