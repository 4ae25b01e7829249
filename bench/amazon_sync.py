"""Benchmarks of the Amazon sync engine (issue 4), against the simulator on loopback.

    .venv/bin/python bench/amazon_sync.py first-chart [--quota relaxed|real]
    .venv/bin/python bench/amazon_sync.py quota [--seconds 300]
    .venv/bin/python bench/amazon_sync.py rss [--asins 50000] [--seconds 240]

Each run uses a fresh SQLite database in a temporary directory (or DATABASE_URL
when set: give it an empty, migrated-on-the-fly database), a real scheduler and a
real `db_worker` as separate processes, exactly as `make run` starts them.

- first-chart: clicks Confirm on the simulator's consent page, follows the
  callback (Django's test client, same database), and times until the account
  series (the chart on the dashboard) has its first day. Goal <= 60 s.
- quota: the simulator in `real` quota mode (createReport 0.0167/s, burst 15);
  after the window, the share of the createReport quota used
  (accepted calls / (burst + rate x window)) and after the burst
  (calls beyond 15 / (rate x time since the burst)), and the 429s. Goal >= 0.9.
- rss: a 50,000-product seller; the worker's peak RSS (VmHWM, the kernel's
  high-water mark) over the window while it syncs listings, inventory, orders
  and Sales & Traffic days. Goal <= 300 MB.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MANAGE = [sys.executable, str(ROOT / "manage.py")]
CREATE_RATE, CREATE_BURST = 0.0167, 15


def setup_environment(tmp: Path, sim_url: str, ca: str, **extra: str) -> dict[str, str]:
    env = {
        "VAR_DIR": str(tmp),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3",
        "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "AMAZON_SIMULATOR_URL": sim_url,
        "AMAZON_CA_FILE": ca,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    os.environ.pop("REDIS_URL", None)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvrtracker.settings")
    return dict(os.environ)


def start(env: dict, *argv: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*MANAGE, *argv],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def simulator(
    tmp: Path, *, quota: str, asins: int, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, str, str]:
    """A separate `amazonsim` process (its memory is not the worker's), on a free port."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SIM_CA_DIR": str(tmp / "sim")}
    log = tmp / "sim.log"
    process = start(
        env,
        "amazonsim",
        "--port",
        str(port),
        "--quota",
        quota,
        "--asins",
        str(asins),
        *extra,
        log=log,
    )
    ca = tmp / "sim" / "ca.pem"
    deadline = time.monotonic() + 300
    while not (ca.exists() and socket_open(port)):
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"the simulator did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    return process, f"https://127.0.0.1:{port}", str(ca)


def socket_open(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def django_ready() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("demo_setup", stdout=open(os.devnull, "w"))  # noqa: SIM115


def first_chart(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cvrt-bench-"))
    os.environ["VAR_DIR"] = str(tmp)
    sim, url, ca = simulator(tmp, quota=args.quota, asins=args.asins)
    env = setup_environment(tmp, url, ca)
    django_ready()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from cvrtracker.accounts.models import User
    from cvrtracker.amazon.models import SellerConnection
    from cvrtracker.metrics.selectors import metrics_account_series

    setup_test_environment()
    log = tmp / "processes.log"
    processes = [
        start(env, "scheduler", log=log),
        start(env, "db_worker", "--queue-name", "*", "--no-reload", "--interval", "0.2", log=log),
    ]
    try:
        time.sleep(3)  # both processes up, as under `make run`
        browser = Client()
        browser.force_login(User.objects.get(email="demo@example.com"))
        consent = browser.get("/amazon/connect/NA/")["Location"]
        import httpx

        sim_http = httpx.Client(verify=__import__("ssl").create_default_context(cafile=ca))
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
        connection = SellerConnection.objects.get()
        from django.utils import timezone

        from cvrtracker.amazon.models import SalesTrafficDay

        today = timezone.now().date()
        first = None
        while True:
            series = metrics_account_series(
                connection=connection,
                marketplace_id="ATVPDKIKX0DER",
                start=today.replace(year=today.year - 2),
                end=today,
            )
            if series and first is None:
                first = time.monotonic() - started
                print(
                    f"first-chart quota={args.quota} asins={args.asins}: {first:.1f} s from "
                    f"Confirm to the first account-level chart data ({len(series)} days)"
                )
            if SalesTrafficDay.objects.filter(kind="series", status="done").exists():
                break
            if time.monotonic() - started > 300:
                raise SystemExit("no full series after 300 s")
            time.sleep(0.2)
        print(
            f"  the whole two-year account series ({len(series)} days) after "
            f"{time.monotonic() - started:.1f} s"
        )
    finally:
        for process in [*processes, sim]:
            stop(process)


def counters(url: str, ca: str) -> dict:
    import ssl

    import httpx

    data = httpx.get(f"{url}/_sim/counters", verify=ssl.create_default_context(cafile=ca)).json()
    return next(iter(data.values()), {})


def run_workers(args: argparse.Namespace, *, quota: str, extra: dict) -> tuple:
    tmp = Path(tempfile.mkdtemp(prefix="cvrt-bench-"))
    os.environ["VAR_DIR"] = str(tmp)
    sim, url, ca = simulator(tmp, quota=quota, asins=args.asins)
    env = setup_environment(tmp, url, ca, **extra)
    django_ready()
    from django.core.management import call_command

    call_command("demo_connect", stdout=open(os.devnull, "w"))  # noqa: SIM115
    log = tmp / "processes.log"
    worker = start(
        env, "db_worker", "--queue-name", "*", "--no-reload", "--interval", "0.2", log=log
    )
    scheduler = start(env, "scheduler", log=log)
    return tmp, sim, url, ca, worker, scheduler


def quota(args: argparse.Namespace) -> None:
    tmp, sim, url, ca, worker, scheduler = run_workers(
        args, quota="real", extra={"AMAZON_REPORT_POLL_SECONDS": "5"}
    )
    started = time.monotonic()
    try:
        time.sleep(args.seconds)
        window = time.monotonic() - started
        calls = counters(url, ca).get("createReport", {})
        from cvrtracker.amazon.models import SalesTrafficDay

        times = sorted(
            t.timestamp()
            for t in SalesTrafficDay.objects.exclude(requested_at=None).values_list(
                "requested_at", flat=True
            )
        )
    finally:
        for process in (scheduler, worker, sim):
            stop(process)
    accepted = calls.get("http_202", 0)
    throttled = calls.get("throttled", 0)
    share = accepted / (CREATE_BURST + CREATE_RATE * window)
    print(f"quota window {window:.0f} s (simulator in real quota mode, {args.asins} products)")
    print(f"createReport accepted: {accepted}, 429s: {throttled}, other: {calls}")
    print(f"share of the createReport quota used (burst + rate x window): {share:.3f}")
    if len(times) > CREATE_BURST + 1:
        after = times[CREATE_BURST:]
        steady = (len(after) - 1) / (after[-1] - after[0]) / CREATE_RATE
        print(
            f"after the burst: {len(after) - 1} calls in {after[-1] - after[0]:.0f} s = "
            f"{steady:.3f} of the refill rate"
        )


def rss(args: argparse.Namespace) -> None:
    tmp, sim, url, ca, worker, scheduler = run_workers(
        args,
        quota="relaxed",
        extra={"AMAZON_BACKFILL_DAYS": str(args.days), "AMAZON_ORDERS_INITIAL_DAYS": "1"},
    )
    started = time.monotonic()
    peak = top_rss = 0
    top_at = ""
    try:
        while time.monotonic() - started < args.seconds:
            status = Path(f"/proc/{worker.pid}/status").read_text()
            peak = max(peak, int(re.search(r"VmHWM:\s+(\d+)", status).group(1)))
            rss_now = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            if rss_now > top_rss:
                # Which job was running when the worker was at its largest.
                running = re.findall(
                    r"tasks\.(\w+) state=RUNNING", (tmp / "processes.log").read_text()
                )
                top_rss, top_at = rss_now, running[-1] if running else "?"
            time.sleep(0.5)
        from cvrtracker.amazon.models import SalesTrafficDay, SellerConnection
        from cvrtracker.listings.models import InventoryLevel, ListingSnapshot
        from cvrtracker.metrics.models import Order

        connection = SellerConnection.objects.get()
        done = SalesTrafficDay.objects.filter(status="done").count()
        progress = {
            "snapshots": ListingSnapshot.objects.count(),
            "inventory rows": InventoryLevel.objects.count(),
            "orders": Order.objects.count(),
            "report days done": done,
            "listings synced": bool(connection.listings_synced_at),
            "inventory synced": bool(connection.inventory_synced_at),
        }
    finally:
        for process in (scheduler, worker, sim):
            stop(process)
    print(f"rss: {args.asins} products, window {args.seconds} s, progress {json.dumps(progress)}")
    print(f"worker peak RSS (VmHWM): {peak / 1024:.0f} MB")
    print(f"largest sampled RSS {top_rss / 1024:.0f} MB, while running {top_at}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="bench", required=True)
    one = sub.add_parser("first-chart")
    one.add_argument("--quota", default="relaxed", choices=["relaxed", "real"])
    one.add_argument("--asins", type=int, default=200)
    two = sub.add_parser("quota")
    two.add_argument("--seconds", type=float, default=300)
    two.add_argument("--asins", type=int, default=200)
    three = sub.add_parser("rss")
    three.add_argument("--asins", type=int, default=50_000)
    three.add_argument("--seconds", type=float, default=240)
    three.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    {"first-chart": first_chart, "quota": quota, "rss": rss}[args.bench](args)


if __name__ == "__main__":
    main()
