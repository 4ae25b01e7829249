"""How long two years of per-ASIN daily history take through Data Kiosk at Amazon's real quotas.

    SPECS_DIR=/work/shared/specs .venv/bin/python bench/datakiosk_backfill.py \
        [--products 5000] [--seconds 180] [--filters 1]

The model
---------
The tracker plans, per marketplace, one `salesAndTrafficByDate` query (the account
series) and one `salesAndTrafficTrends` query per chunk of 30 × F child ASINs (F =
AMAZON_DATAKIOSK_FILTERS_PER_QUERY marketplace filters of ≤30 ASINs each, default 1
because Amazon documents no maximum):

    Q(m) = m × (1 + ceil(P / (30 × F)))          P products, m marketplaces

Every query costs one createQuery and, when it has data, one getDocument. Both
usage plans (dataKiosk_2023-11-15.json) are 0.0167 requests/s with a burst of 15,
per seller and operation, across marketplaces (the buckets are the seller's, not
the marketplace's); getQuery (2/s, burst 15) is never the limit. The two buckets
refill in parallel, so the backfill is bounded by one of them:

    T(m) ≈ (Q(m) − 15) / (0.0167 × 0.95)  +  one query's processing time

(0.95: the tracker's limiter runs 5 % under Amazon's rate, amazon/ratelimit.py).
This is the arithmetic figure. It ignores what Amazon does not document: how
long a two-year, 30-ASIN query takes to process, and how many non-terminal
queries it lets one seller have at once ("Data Kiosk limits the number of
concurrent non-terminal queries per selling partner", use case guide). Both
could make the real figure longer, never shorter.

The measured figure runs the tracker's own plan, scheduler and step code
(datakiosk_plan, schedule_due, datakiosk_step, ingestion into the encrypted
blocks) against the simulator in `real` quota mode (the model's rates, no
relaxation; queries take the simulator's real-mode 5 s in queue + 10 s in
progress) for a bounded time, then extrapolates: the first 15 createQuery calls
are the burst; the steady rate is the queries created after it divided by the
time since the first call (the bucket refills from then on), and

    T_measured(m) = (Q(m) − 15) / steady rate + median create→done latency

The simulator has one marketplace per seller on this branch (several arrive with
the sim-world branch), and quotas are per seller across marketplaces, so 2 and 3
marketplaces are extrapolated from the one-marketplace run with Q(m).
"""

from __future__ import annotations

import argparse
import base64
import math
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATE, BURST, SAFETY = 0.0167, 15, 0.95
ASINS_PER_FILTER = 30


def queries(products: int, markets: int, filters: int) -> int:
    return markets * (1 + math.ceil(products / (ASINS_PER_FILTER * filters)))


def arithmetic_hours(products: int, markets: int, filters: int, processing_s: float) -> float:
    q = queries(products, markets, filters)
    return (max(0, q - BURST) / (RATE * SAFETY) + processing_s) / 3600


def measure(products: int, seconds: float, filters: int) -> dict:
    """Run the tracker against a real-quota simulator; returns the observed rates."""
    tmp = Path(tempfile.mkdtemp(prefix="dk-bench-"))
    os.environ.update(
        {
            "VAR_DIR": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "DJANGO_SETTINGS_MODULE": "cvrtracker.settings",
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from cvrtracker.amazon.models import DataKioskQuery, SellerConnection
    from cvrtracker.amazon.services import connection_sync_marketplaces
    from cvrtracker.amazon.sync.datakiosk import datakiosk_plan
    from cvrtracker.amazon.sync.scheduler import schedule_due
    from cvrtracker.amazon.tests.conftest import point_settings_at
    from cvrtracker.amazon.tests.helpers import connect_seller
    from cvrtracker.listings.models import Listing
    from cvrtracker.simulator.testing import running_simulator
    from cvrtracker.test import make_user

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.AMAZON_RATELIMIT_STORAGE = "memory"
    settings.AMAZON_DATAKIOSK_POLL_SECONDS = 5
    settings.AMAZON_DATAKIOSK_FILTERS_PER_QUERY = filters
    settings.AMAZON_JOB_QUOTA_WAIT_SECONDS = 1
    with running_simulator(asins=products, quota="real", today=timezone.now().date()) as sim:
        point_settings_at(settings, sim)
        user = make_user("bench@example.org")
        connection = connect_seller(sim, team=user.membership.team, user=user)
        connection_sync_marketplaces(connection=connection)
        SellerConnection.objects.filter(pk=connection.pk).update(next_sync_at=None)
        connection.refresh_from_db()
        Listing.objects.bulk_create(
            [
                Listing(
                    connection=connection,
                    marketplace_id=sim.world.marketplace.id,
                    sku=p.sku,
                    asin=p.asin,
                    content_enc=b"",
                )
                for p in sim.world.sellers[0].products
            ],
            ignore_conflicts=True,
        )
        planned = datakiosk_plan(connection=connection)
        started = time.monotonic()
        created: list[float] = []
        seen: set[int] = set()
        while time.monotonic() - started < seconds:
            schedule_due()
            for pk in DataKioskQuery.objects.exclude(query_id="").values_list("pk", flat=True):
                if pk not in seen:
                    seen.add(pk)
                    created.append(time.monotonic() - started)
            time.sleep(0.5)
        rows = list(DataKioskQuery.objects.all())
        done = [r for r in rows if r.status == "done"]
        latencies = [(r.fetched_at - r.requested_at).total_seconds() for r in done]
        calls = sim.sim.counters.as_json(connection.selling_partner_id)
        throttled = sum(
            v.get("throttled", 0) for v in calls.get(connection.selling_partner_id, {}).values()
        )
    created.sort()
    steady = None
    if len(created) > BURST:
        # A token bucket refills from the first call on: after the burst of 15, the
        # calls it allowed by the window's end, over the time since the first call.
        steady = (len(created) - BURST) / (seconds - created[0])
    return {
        "planned": planned,
        "created": len(created),
        "done": len(done),
        "failed": sum(r.status in ("failed", "fatal") for r in rows),
        "steady_rate": steady,
        "latency": statistics.median(latencies) if latencies else float("nan"),
        "throttled": throttled,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--filters", type=int, default=1)
    args = parser.parse_args()
    m = measure(args.products, args.seconds, args.filters)
    print(f"products={args.products} filters/query={args.filters} window={args.seconds:.0f}s")
    print(
        f"measured: planned {m['planned']} queries (1 marketplace), created {m['created']}, "
        f"done {m['done']}, failed {m['failed']}, 429s {m['throttled']}, "
        f"median create->done {m['latency']:.1f}s, "
        f"steady createQuery rate {m['steady_rate'] or float('nan'):.5f}/s"
    )
    print(f"{'markets':>7} {'queries':>8} {'arithmetic h':>13} {'measured h':>11}")
    for markets in (1, 2, 3):
        q = queries(args.products, markets, args.filters)
        arith = arithmetic_hours(args.products, markets, args.filters, m["latency"])
        measured = (
            (max(0, q - BURST) / m["steady_rate"] + m["latency"]) / 3600
            if m["steady_rate"]
            else float("nan")
        )
        print(f"{markets:>7} {q:>8} {arith:>13.2f} {measured:>11.2f}")


if __name__ == "__main__":
    main()
