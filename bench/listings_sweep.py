"""How long a listings sweep takes with Amazon's real quotas, and what share of them it uses.

    .venv/bin/python bench/listings_sweep.py [--products 1000 10000] [--tick 1.0]

For each catalogue size: a fresh SQLite database in a temporary directory (or
DATABASE_URL when set), the simulator as its own process in `real` quota mode
(`amazonsim --quota real --marketplaces 1`: one seller selling in the US only;
Amazon still lists Brazil and Non-Amazon as participations, and Brazil's
merchant listings report is refused, as it would be), the demo team connected,
and every product tracked (the plan's limit is lifted in this process: the
largest plan tracks 1,000).

The sweep is the real listings job (sync_job_run), driven as the task and the
scheduler drive it: a run that pauses (the merchant listings report being made,
or after AMAZON_JOB_PAGES_PER_RUN pages) waits its retry_after plus `--tick`
seconds, the scheduler's turn (AMAZON_SCHEDULER_INTERVAL_SECONDS), and goes on.
The client's own token buckets (database storage, as `make run`) pace the calls.

Printed per size: the time of a first sweep (every listing new) and of a second,
steady-state one; the calls per operation and the simulator's 429s; and for an
hourly sweep (LISTINGS_SWEEP_MINUTES=60: a sweep starts 60 minutes after the
last one ended) the share of each quota's sustained calls per hour.

Then detection latency: between the two sweeps a title is changed through the
simulator's control API (catalog delay 0), and the bench prints whether the
second sweep recorded it (a ListingChange, field title, source observed) and the
interval it was seen in (seen_between).
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from amazon_sync import django_ready, setup_environment, simulator, stop  # noqa: E402

OPERATIONS = (
    "createReport",
    "getReport",
    "getReportDocument",
    "searchListingsItems",
    "searchCatalogItems",
)
SWEEP_MINUTES = 60


def sim_counters(url: str, ca: str, seller_id: str) -> dict:
    answer = httpx.get(
        f"{url}/_sim/counters",
        params={"sellerId": seller_id},
        verify=ssl.create_default_context(cafile=ca),
    )
    return answer.json().get(seller_id, {})


def calls_between(before: dict, after: dict) -> dict[str, dict[str, int]]:
    """Per operation: calls and 429s the simulator counted between two readings."""
    out = {}
    for operation in sorted(set(before) | set(after)):
        old, new = before.get(operation, {}), after.get(operation, {})
        calls = new.get("calls", 0) - old.get("calls", 0)
        if calls:
            out[operation] = {
                "calls": calls,
                "throttled": new.get("throttled", 0) - old.get("throttled", 0),
            }
    return out


def run_sweep(job_pk: int, *, tick: float) -> tuple[float, int]:
    """Make the listings job due and run it to the end; (seconds, pauses)."""
    from django.utils import timezone

    from cvrtracker.amazon.models import SyncJob
    from cvrtracker.amazon.sync.jobs import sync_job_run
    from cvrtracker.amazon.sync.schedule import JobPaused

    SyncJob.objects.filter(pk=job_pk).update(next_run_at=timezone.now())
    started = time.monotonic()
    pauses = 0
    while True:
        job = SyncJob.objects.select_related("connection").get(pk=job_pk)
        try:
            sync_job_run(job=job)
            return time.monotonic() - started, pauses
        except JobPaused as paused:
            pauses += 1
            time.sleep(paused.retry_after + tick)


def change_title(url: str, ca: str, seller_id: str, sku: str) -> dict:
    answer = httpx.post(
        f"{url}/_sim/sellers/{seller_id}/listings/{sku}",
        json={"field": "title", "value": "Bench title, changed", "catalogDelaySeconds": 0},
        verify=ssl.create_default_context(cafile=ca),
    )
    answer.raise_for_status()
    return answer.json()


def quota_shares(calls: dict, sweep_seconds: float) -> list[str]:
    """Lines: each operation's calls per hour (hourly sweep) / its sustained calls per hour."""
    from cvrtracker.amazon.ratelimit import USAGE_PLANS

    # A sweep starts SWEEP_MINUTES after the previous one ended.
    sweeps_per_hour = 3600 / (SWEEP_MINUTES * 60 + sweep_seconds)
    lines = []
    for operation in OPERATIONS:
        if operation not in calls:
            continue
        rate, burst = USAGE_PLANS[operation]
        per_hour = calls[operation]["calls"] * sweeps_per_hour
        lines.append(
            f"    {operation:<20} {per_hour:8.1f} calls/h of {rate * 3600:8.0f} "
            f"(rate {rate}/s, burst {burst}) = {100 * per_hour / (rate * 3600):5.1f}%"
        )
    return lines


def bench_size(products: int, *, tick: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cvrt-sweep-"))
    os.environ["VAR_DIR"] = str(tmp)
    sim, url, ca = simulator_one_market(tmp, products)
    try:
        setup_environment(tmp, url, ca)
        django_ready()
        # One INFO line per SP-API call would bury the figures.
        logging.getLogger("cvrtracker").setLevel(logging.WARNING)
        from django.core.management import call_command
        from django.db.models import Count

        from cvrtracker.amazon.models import SellerConnection, SyncJob
        from cvrtracker.listings import services
        from cvrtracker.listings.models import Listing, ListingChange, ListingSnapshot

        # Track every product: no plan tracks 10,000, and the sweep is what is measured.
        services.tracked_products_room = lambda team, current: 10**9
        call_command("demo_connect", stdout=open(os.devnull, "w"))  # noqa: SIM115
        connection = SellerConnection.objects.get()
        seller_id = connection.selling_partner_id
        job = SyncJob.objects.create(
            connection=connection, kind=SyncJob.Kind.LISTINGS, next_run_at=None
        )
        print(f"\n{products} products, one marketplace (US), simulator in real quota mode")

        before = sim_counters(url, ca, seller_id)
        first, first_pauses = run_sweep(job.pk, tick=tick)
        middle = sim_counters(url, ca, seller_id)
        tracked = Listing.objects.filter(tracking=Listing.Tracking.TRACKED).count()
        snapshots = ListingSnapshot.objects.count()

        sku = Listing.objects.filter(tracking=Listing.Tracking.TRACKED).order_by("sku")[0].sku
        from django.utils import timezone

        changed_at = timezone.now()
        changed = change_title(url, ca, seller_id, sku)
        changes_before = ListingChange.objects.count()
        second, second_pauses = run_sweep(job.pk, tick=tick)
        after = sim_counters(url, ca, seller_id)
        new_snapshots = ListingSnapshot.objects.count() - snapshots
        new_changes = dict(
            ListingChange.objects.values_list("field").annotate(n=Count("id")).order_by()
        )

        for label, seconds, pauses, calls in (
            ("first sweep ", first, first_pauses, calls_between(before, middle)),
            ("second sweep", second, second_pauses, calls_between(middle, after)),
        ):
            print(f"  {label}: {seconds:7.1f} s ({pauses} pauses)")
            for operation, count in calls.items():
                print(f"    {operation:<20} {count['calls']:6d} calls, {count['throttled']} 429s")
        print(
            f"  tracked listings {tracked}; snapshots stored by the first sweep {snapshots}, "
            f"by the second {new_snapshots}; changes stored by the second {new_changes}"
        )
        calls = calls_between(middle, after)
        catalog_floor = calls["searchCatalogItems"]["calls"] / (2 * 0.95)
        print(
            f"  searchCatalogItems alone needs {catalog_floor:.0f} s at our pace "
            "(95% of 2 calls/s): the quota bound of a sweep"
        )
        print(f"  hourly sweep (LISTINGS_SWEEP_MINUTES={SWEEP_MINUTES}), steady state:")
        for line in quota_shares(calls, second):
            print(line)

        found = ListingChange.objects.filter(sku=sku, field="title", source="observed")
        print(f"  title of {sku} changed through /_sim/ at {changed['at']} (catalog delay 0)")
        if found.exists():
            change = found.get()
            print(
                f"    in the history after one sweep: yes, seen_between "
                f"{change.seen_after.isoformat()} and {change.seen_at.isoformat()}, "
                f"{(change.seen_at - changed_at).total_seconds():.1f} s after the change"
            )
            print(
                f"    at most {SWEEP_MINUTES} min + one sweep ({second / 60:.1f} min) "
                "for any listing: the change waits for the next sweep, then for its page"
            )
        else:
            print(
                f"    in the history after one sweep: NO ({ListingChange.objects.count()} "
                f"changes stored, {changes_before} before the sweep)"
            )
    finally:
        stop(sim)


def simulator_one_market(tmp: Path, products: int):
    """amazon_sync.simulator, with the seller in one marketplace."""
    import amazon_sync

    original = amazon_sync.start

    def start(env, *argv, log):
        return original(env, *argv, "--marketplaces", "1", log=log)

    amazon_sync.start = start
    try:
        return simulator(tmp, quota="real", asins=products)
    finally:
        amazon_sync.start = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument(
        "--tick", type=float, default=1.0, help="seconds a paused run waits for the scheduler"
    )
    args = parser.parse_args()
    if len(args.products) > 1:
        # Django is set up once per process: one size per process.
        import subprocess

        for products in args.products:
            subprocess.run(  # noqa: S603 - this script, another size
                [sys.executable, __file__, "--products", str(products), "--tick", str(args.tick)],
                check=True,
            )
        return
    bench_size(args.products[0], tick=args.tick)


if __name__ == "__main__":
    main()
