"""How long `make run` takes to show the demo's history: 90 replayed days, two years of metrics.

    SPECS_DIR=/work/shared/specs .venv/bin/python bench/demo_replay.py [--days 90] [--asins 200]

It runs what `make run` runs, in a fresh database under a temporary VAR_DIR:
migrate and demo_setup, then `runall` with DEMO_CONNECT=1 (the simulator starts
--days in the past, demo_connect connects the demo seller and replays those
days through the real sync, then the scheduler starts and the worker backfills
Data Kiosk's two years). It prints the wall time of each stage, read from
runall's output and from the database:

- setup: migrate + demo_setup (make run's steps before runall);
- replay: from runall's start to demo_connect's "Replayed N days" (includes the
  simulator's start and the connection);
- metrics: from runall's start until every Data Kiosk query is done (two years of
  daily metrics, per ASIN and for the account), or --timeout;

and what the history holds then: listings, snapshots, observed changes by field.
The goal (issue 9): the replay of 90 days in at most 5 minutes on this machine.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--asins", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait in all")
    parser.add_argument("--keep", action="store_true", help="keep the temporary VAR_DIR")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="demo-replay-"))
    sim_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "VAR_DIR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
        "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "SIM_PORT": str(sim_port),
        "SIM_CA_DIR": str(tmp / "sim"),
        "AMAZON_SIMULATOR_URL": f"https://127.0.0.1:{sim_port}",
        "SIM_ASINS": str(args.asins),
        "SIM_REPLAY_DAYS": str(args.days),
        "DEMO_CONNECT": "1",
        "DJANGO_SETTINGS_MODULE": "cvrtracker.settings",
    }
    env.pop("REDIS_URL", None)
    os.environ.update(env)
    manage = [sys.executable, str(ROOT / "manage.py")]

    started = time.monotonic()
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*manage, "demo_setup"], env=env, check=True, stdout=subprocess.DEVNULL)
    setup = time.monotonic() - started

    import django

    django.setup()
    from cvrtracker.amazon.models import DataKioskQuery

    begun = time.monotonic()
    runall = subprocess.Popen(
        [*manage, "runall", "--port", str(web_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    marks: dict[str, float] = {}
    log: list[str] = []

    def read() -> None:
        for line in runall.stdout:
            log.append(line.rstrip())
            if line.startswith("Replayed ") and "replay" not in marks:
                marks["replay"] = time.monotonic() - begun
                marks["replay_line"] = line.strip()
            if line.startswith("started scheduler"):
                marks.setdefault("scheduler", time.monotonic() - begun)

    threading.Thread(target=read, daemon=True).start()
    deadline = begun + args.timeout
    try:
        while time.monotonic() < deadline and runall.poll() is None:
            if "replay" in marks:
                queries = DataKioskQuery.objects.all()
                if queries.exists() and not queries.exclude(status="done").exists():
                    marks["metrics"] = time.monotonic() - begun
                    break
            time.sleep(1)
    finally:
        runall.send_signal(signal.SIGINT)
        runall.wait(timeout=60)
    report(args, setup, marks, log)
    if args.keep:
        print(f"kept {tmp}")


def report(args, setup: float, marks: dict, log: list[str]) -> None:
    from django.db.models import Count, Max, Min

    from cvrtracker.amazon.models import DataKioskQuery
    from cvrtracker.listings.models import Listing, ListingChange, ListingSnapshot
    from cvrtracker.metrics.models import MetricBlock

    print(f"demo replay: {args.days} days, {args.asins} products, relaxed quota")
    print(f"  setup (migrate + demo_setup):        {setup:7.1f} s")
    if "replay" not in marks:
        print("  the replay did not finish; runall's last lines:")
        print("\n".join(f"    {line}" for line in log[-30:]))
        return
    print(
        f"  replay done (from runall's start):   {marks['replay']:7.1f} s  ({marks['replay_line']})"
    )
    if "metrics" in marks:
        print(f"  Data Kiosk two years done:           {marks['metrics']:7.1f} s")
    else:
        left = DataKioskQuery.objects.exclude(status="done").count()
        print(f"  Data Kiosk not done after {args.timeout:.0f} s ({left} queries left)")
    print(f"  make run to history (setup + replay): {setup + marks['replay']:6.1f} s")
    print(f"  listings {Listing.objects.count()}, snapshots {ListingSnapshot.objects.count()}")
    changes = ListingChange.objects.filter(source="observed")
    by_field = dict(changes.values_list("field").annotate(n=Count("pk")).order_by("field"))
    span = changes.aggregate(first=Min("day"), last=Max("day"))
    print(f"  observed changes {changes.count()} {by_field} from {span['first']} to {span['last']}")
    months = MetricBlock.objects.filter(granularity="asin").aggregate(
        first=Min("month"), last=Max("month")
    )
    print(f"  per-ASIN metric months from {months['first']} to {months['last']}")


if __name__ == "__main__":
    main()
