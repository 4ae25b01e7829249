"""Benchmark: 32 sellers browsing the dashboard at once for 60 s on loopback (locust).

    .venv/bin/python bench/dashboard_load.py [--products 5000] [--days 730] [--users 32]
        [--seconds 60] [--server gunicorn|runserver] [--workers 4] [--keep] [--reuse]

Defaults are the issue's sizes; `--products 300 --days 120 --seconds 15` is a quick check.
The data is bench/dashboard_data.py's (database cvr_bench, dropped at the end unless
--keep; --reuse takes a kept one as is).

The server runs on the bench database as production runs it (README, "Running in
production"): `cvrtracker.wsgi:application` under gunicorn (pinned in the dev
dependencies), `--workers` sync workers (default 4 on this 2-core machine), persistent
database connections (DB_CONN_MAX_AGE=60), DEBUG off, static files from WhiteNoise. There
is no TLS proxy in front: loopback HTTP. `--server runserver` measures what `make run`
serves instead (`manage.py runserver --noreload`, threaded, one process).

Users (bench/locustfile.py) log in through the form and browse the built pages with
1-3 s pauses (`--wait min,max`; a seller reading each page pauses longer). Pages still
placeholders are left out and named; when none is built, users browse the overview
placeholder and the figure is labelled a baseline (server, login,
middleware), not the issue's. Prints per page and overall: requests, p50, p95, p99,
failures. Target (issue 10, point 9): p95 <= 300 ms, no errors. Locust runs on the same
two cores as the server.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import dashboard_data as data

ROOT = data.ROOT
VENV = ROOT / ".venv" / "bin"


def built_pages(dataset) -> list[str]:
    import logging

    import dashboard_speed as speed
    from django.db import connection as db

    logging.getLogger("django.request").setLevel(logging.ERROR)
    client = speed.page_client(dataset)
    asin = speed.busiest_changed_asin(dataset.connection())
    pages = [
        name
        for name, url in speed.page_urls(dataset, asin).items()
        if not speed.page_state(name, client.get(url))
    ]
    db.close()
    return pages


def start_server(kind: str, port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": data.database_url(),
        "DB_CONN_MAX_AGE": "60",
        "TRACKER_CLOCK": "system",
        "LOG_LEVEL": "WARNING",
        "PORT": str(port),
    }
    env.pop("DEBUG", None)
    if kind == "gunicorn":
        command = [
            str(VENV / "gunicorn"),
            "cvrtracker.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ]
    else:
        command = [
            str(VENV / "python"),
            "manage.py",
            "runserver",
            "--noreload",
            f"127.0.0.1:{port}",
        ]
    # The server's own log (runserver logs every request) goes to a file, shown if it fails.
    log = tempfile.NamedTemporaryFile(prefix="cvr-bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server.log_path = log.name
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5):
                return server
        except OSError:
            if server.poll() is not None:
                tail = Path(log.name).read_text()[-2000:]
                raise SystemExit(f"the server exited ({server.returncode}):\n{tail}") from None
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the server did not answer within 60 s")


def peak_memory_mb(pid: int) -> list[float]:
    """Peak resident memory (VmHWM) of a process and its children, in MB."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    peaks = []
    for p in pids + [int(c) for c in children]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        peaks.append(int(status.split("VmHWM:")[1].split()[0]) / 1024)
    return peaks


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    Path(server.log_path).unlink(missing_ok=True)


# Time allowed for every user to log in before the measured window starts.
LOGIN_ALLOWANCE = 120


def run_locust(
    targets: Path, host: str, users: int, seconds: int, results: Path, wait: str
) -> dict:
    subprocess.run(
        [
            str(VENV / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(max(1, users // 4)),
            "--run-time",
            f"{seconds + LOGIN_ALLOWANCE}s",
            "--host",
            host,
            "--only-summary",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "BENCH_TARGETS": str(targets),
            "BENCH_USERS": str(users),
            "BENCH_SECONDS": str(seconds),
            "BENCH_RESULTS": str(results),
            "BENCH_WAIT": wait,
        },
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return json.loads(results.read_text())


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--server", choices=["gunicorn", "runserver"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8871)
    parser.add_argument(
        "--wait", default="1,3", help="each user's pause between pages, min,max seconds"
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    data.bootstrap()
    dataset = data.prepare(products=args.products, days=args.days, reuse=args.reuse)
    try:
        run(dataset, args)
    finally:
        if not args.keep:
            data.drop()
            print("dropped the bench database (--keep keeps it)")


def run(dataset, args: argparse.Namespace) -> None:
    pages = built_pages(dataset)
    missing = [p for p in ("overview", "table", "product") if p not in pages]
    with tempfile.TemporaryDirectory(prefix="cvr-bench-load-") as tmp:
        targets = Path(tmp) / "targets.json"
        targets.write_text(
            json.dumps(
                {
                    "email": dataset.email,
                    "password": dataset.password,
                    "connection": dataset.connection_code,
                    "marketplace": dataset.marketplace_id,
                    "asins": dataset.asins,
                    "pages": pages,
                    "baseline": not pages,
                }
            )
        )
        server = start_server(args.server, args.port, args.workers)
        try:
            results = run_locust(
                targets,
                f"http://127.0.0.1:{args.port}",
                args.users,
                args.seconds,
                Path(tmp) / "results.json",
                args.wait,
            )
            memory = peak_memory_mb(server.pid)
        finally:
            stop_server(server)
    server = (
        f"gunicorn, {args.workers} sync workers"
        if args.server == "gunicorn"
        else "runserver --noreload (as make run)"
    )
    window = results.get("window") or 0
    print(
        f"{args.users} users ({results.get('logged_in', 0)} logged in, pauses {args.wait} s), "
        f"{server}, loopback; "
        f"measured {window:.0f} s after the last login; load average "
        f"{os.getloadavg()[0]:.1f} after the run"
    )
    if memory:
        print(
            "peak resident memory, server processes: "
            + ", ".join(f"{m:.0f}" for m in memory)
            + " MB"
        )
    if missing:
        print(f"not built, left out: {', '.join(missing)}")
    if not pages:
        print(
            "BASELINE ONLY: no dashboard page is built; users browsed the overview "
            "placeholder (server, login and middleware), not the issue's pages"
        )
    failures = results["failures"]
    print(f"{'request':<22}{'count':>7}{'failures':>10}{'p50':>8}{'p95':>8}{'p99':>8}  ms")
    rows = dict(results["requests"])
    everything = [t for times in rows.values() for t in times]
    rows["all pages"] = everything
    rows["login (before window)"] = results["logins"]
    for name, times in rows.items():
        if not times:
            print(f"{name:<22}{0:>7}")
            continue
        count = (
            sum(failures.get(n, 0) for n in results["requests"])
            if name == "all pages"
            else failures.get("login" if name.startswith("login") else name, 0)
        )
        print(
            f"{name:<22}{len(times):>7}{count:>10}{percentile(times, 0.5):>8.0f}"
            f"{percentile(times, 0.95):>8.0f}{percentile(times, 0.99):>8.0f}"
        )
    page_failures = sum(failures.values())
    met = bool(everything) and percentile(everything, 0.95) <= 300 and page_failures == 0
    print(
        f"target p95 <= 300 ms and no errors: {'met' if met else 'NOT met'}"
        f"{' (baseline only)' if not pages else ''}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
