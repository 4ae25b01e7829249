"""Benchmark: score the impact verdicts against the simulator's ground truth.

    .venv/bin/python bench/impact_score.py [--seeds 1 2 3] [--asins 2000]
        [--change-rate 1.2] [--days 200] [--cvr-noise SIGMA]

For each seed, builds a simulator world (one seller, its first marketplace) with
many background changes (`--change-rate` per product and year; the simulator's
default realistic noise unless --cvr-noise), replays its last `--days` days into
a throwaway test database (bench_impact_score, created and dropped by Django's
test utilities) and measures every change with the tracker's real impact code.

What is real and what is shortcut (see cvrtracker/impact/tests/scoring.py):
- the metrics are the simulator's own Data Kiosk documents, parsed and stored by
  the tracker's real parser and ingest services, as Amazon shows them on the
  simulator's today (the last 3 days' traffic pending, units of the last 30 days
  not yet revised);
- observed listing changes are not read through the Listings API: they are stored
  with the real `listing_changes_store`, dated as the hourly sweep would date them
  (a content change by the first sweep after the detail page shows it, seen
  between that sweep and the one before; an edit that never reaches the detail
  page records nothing and is not scored); the estimator never sees the truth's
  multiplier, effectiveDate or catalogAt;
- stock-outs and Buy Box events are derived by the real `listing_changes_derive`;
- impacts come from the real `impact_refresh` (what the sync's task runs).

Prints, per seed and pooled, with Wilson 95% intervals:
- coverage: the share of final 95% intervals holding the true effect (goal 90-98%);
- false alarms: improved or worsened where the true multiplier is 1 (goal <= 5%),
  counting early ("so far") verdicts too;
- wrong sign: improved where it fell or worsened where it rose (goal <= 1%);
- detected: the share of true effects of 10% or more on products with at least
  100 sessions a day found with the right sign, beside what an oracle test (knowing
  the base rate, account factor and noise variance, same after days) would find.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvrtracker.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection as db  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

TODAY = date(2026, 11, 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--asins", type=int, default=2000)
    parser.add_argument("--change-rate", type=float, default=1.2)
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--cvr-noise", type=float, default=None)
    parser.add_argument(
        "--speed",
        type=int,
        nargs=2,
        metavar=("ASINS", "DAYS"),
        help="instead of scoring: time impact_refresh on ASINS x DAYS of synthetic metrics "
        "(bench/derived_changes.py's generator) with a content change on 5%% of the ASINs",
    )
    args = parser.parse_args()
    name = "bench_impact_score"
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # A file, not the repository's working directory.
        name = str(Path(tempfile.gettempdir()) / f"{name}-{os.getpid()}.sqlite3")
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = name
    old = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    try:
        speed(*args.speed) if args.speed else run(args)
    finally:
        teardown_databases(old, verbosity=0)


def run(args: argparse.Namespace) -> None:
    from cvrtracker.impact.tests.scoring import metrics, replay_and_score

    print(
        f"database: {db.vendor}; {args.asins} products, change rate {args.change_rate}/year, "
        f"last {args.days} days, cvr noise {args.cvr_noise or 'default'}"
    )
    pooled = []
    for seed in args.seeds:
        started = time.monotonic()
        score = replay_and_score(
            seed=seed,
            asins=args.asins,
            change_rate=args.change_rate,
            days=args.days,
            today=TODAY,
            cvr_noise=args.cvr_noise,
        )
        pooled += score.changes
        print(
            f"\nseed {seed}: replayed in {score.replay_seconds:.1f} s, impacts computed in "
            f"{score.refresh_seconds:.2f} s, {time.monotonic() - started:.0f} s in all; "
            f"{score.unseen} edits never reached the detail page (not scored)"
        )
        report(metrics(score.changes))
    if len(args.seeds) > 1:
        print(f"\npooled over seeds {', '.join(map(str, args.seeds))}:")
        report(metrics(pooled))


def speed(n_asins: int, n_days: int) -> None:
    """Time one marketplace's whole impact refresh (what the task runs after each day)."""
    from datetime import UTC, datetime, timedelta

    import numpy as np
    from derived_changes import MARKET, fill

    from cvrtracker.accounts.models import Team
    from cvrtracker.amazon.marketplaces import day_start
    from cvrtracker.amazon.models import SellerConnection
    from cvrtracker.impact import compute
    from cvrtracker.impact.services import impact_refresh
    from cvrtracker.lib import clock
    from cvrtracker.listings.changes import NewChange, listing_changes_store
    from cvrtracker.metrics.keys import ConnectionKeys

    rng = np.random.default_rng(5)
    asins = sorted(f"B0{i * 7919 % 10**8:08d}" for i in range(n_asins))
    team = Team.objects.create(name="bench")
    connection = SellerConnection(team=team, region="NA", selling_partner_id="ABENCHIMPACT")
    connection.create_data_key()
    connection.save()
    days = [TODAY - timedelta(days=n_days - i) for i in range(n_days)]
    began = time.perf_counter()
    fill(connection, asins, days, rng)
    changes = []
    for k, i in enumerate(rng.choice(len(asins), len(asins) // 20, replace=False)):
        on = days[int(rng.integers(30, n_days - 5))]
        seen = day_start(MARKET, on) + timedelta(hours=13)
        changes.append(
            NewChange(
                key=f"speed{k}",
                field="title",
                source="observed",
                marketplace_id=MARKET,
                day=on,
                seen_at=seen,
                seen_after=seen - timedelta(hours=1),
                payload={"action": "edited"},
                asin=asins[i],
            )
        )
    listing_changes_store(connection=connection, changes=changes)
    print(
        f"{n_asins} ASINs x {n_days} days stored in {time.perf_counter() - began:.0f} s; "
        f"{len(changes)} title changes"
    )
    now = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=20)
    with clock.following(lambda: now):
        keys = ConnectionKeys(connection)
        events = compute.events_read(connection=connection, marketplace_id=MARKET, keys=keys)
        for attempt in ("first", "again"):
            started = time.perf_counter()
            compute.catalogue_read(
                connection=connection, marketplace_id=MARKET, changed=set(events), keys=keys
            )
            read = time.perf_counter() - started
            result = impact_refresh(connection=connection, marketplace_id=MARKET)
            print(
                f"impact_refresh ({attempt}): {result.seconds:.2f} s for {result.changes} "
                f"changes ({result.stored}); of which reading and decrypting every shard "
                f"about {read:.2f} s; kappa {result.kappa:.4f}"
            )


def report(m: dict) -> None:
    print(f"  changes scored (bundles): {m['scored']}, with a final interval: {m['final']}")
    print(f"  verdicts: {m['verdicts']}")
    print(f"  coverage of 95% intervals (goal 90-98%):   {m['coverage'].text()}")
    print(f"  false alarms where no effect (goal <= 5%): {m['false_alarms'].text()}")
    print(f"  wrong-sign verdicts (goal <= 1%):          {m['wrong_sign'].text()}")
    print(
        f"  effects >= 10% at >= 100 sessions/day detected: {m['detected'].text()}; "
        f"oracle test: {m['oracle'] * 100:.1f}%"
    )


if __name__ == "__main__":
    main()
