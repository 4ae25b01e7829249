"""Real worker processes for tests: a database they can see, the simulator, and a dump.

The processes (migrate, demo_setup, demo_connect, scheduler, db_worker or
rqworker) share a file SQLite database in the test's tmp directory, or a fresh
PostgreSQL database when the suite runs on PostgreSQL, plus one master key.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection as default_connection

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]
RQ_DB = 13  # a spare Redis database: only this one is flushed


def database_url(tmp_path: Path) -> tuple[str, callable]:
    """A fresh database for the processes, and a function that drops it."""
    if default_connection.vendor != "postgresql":
        return f"sqlite:///{tmp_path}/workers.sqlite3", lambda: None
    import psycopg

    params = default_connection.settings_dict
    name = f"cvrt_workers_{secrets.token_hex(4)}"
    dsn = {
        "host": params["HOST"] or "127.0.0.1",
        "port": params["PORT"] or 5432,
        "user": params["USER"],
        "password": params["PASSWORD"],
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **dsn) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **dsn) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    auth = f"{dsn['user']}:{dsn['password']}@" if dsn["password"] else f"{dsn['user']}@"
    return f"postgres://{auth}{dsn['host']}:{dsn['port']}/{name}", drop


def environment(tmp_path: Path, sim, database: str, *, redis: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": database,
        "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "AMAZON_SIMULATOR_URL": sim.base_url,
        "AMAZON_CA_FILE": str(sim.ca_path),
        "AMAZON_BACKFILL_DAYS": "5",
        "AMAZON_REPORT_DAYS": "5",
        # The range report on connect runs too; the jobs need not wait for it here.
        "AMAZON_QUICK_TOTALS_HOLD_SECONDS": "0",
        # The Sales & Traffic budget's 15 minutes in 25 ms (and its stuck limit in a minute).
        "AMAZON_ST_TIME_SCALE": "36000",
        "AMAZON_REPORT_STUCK_SECONDS": str(60 * 36000),
        "AMAZON_REPORT_POLL_SECONDS": "0.3",
        "AMAZON_JOB_LEASE_SECONDS": "4",
        "AMAZON_JOB_QUOTA_WAIT_SECONDS": "1",
        "AMAZON_RETRY_INITIAL_SECONDS": "0.05",
        "AMAZON_RETRY_MAX_SECONDS": "0.5",
        "AMAZON_SCHEDULER_INTERVAL_SECONDS": "0.3",
        "AMAZON_ORDERS_INITIAL_DAYS": "3",
    }
    env.pop("REDIS_URL", None)
    if redis:
        env["REDIS_URL"] = f"redis://127.0.0.1:6379/{RQ_DB}"
    return env


def manage(env: dict, *argv: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [*MANAGE, *argv], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def prepare(env: dict) -> None:
    manage(env, "migrate", "-v0")
    manage(env, "demo_setup")
    manage(env, "demo_connect", "--wait", "10")


def start(env: dict, *argv: str, log: Path) -> subprocess.Popen:
    # A session of its own: SIGKILL reaches RQ's work horse too.
    return subprocess.Popen(
        [*MANAGE, *argv],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def worker_argv(env: dict) -> list[str]:
    if env.get("REDIS_URL"):
        return ["rqworker", "default", "--job-class", "django_tasks_rq.backend.Job"]
    return ["db_worker", "--queue-name", "*", "--no-reload", "--interval", "0.2"]


def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    process.wait(timeout=30)


DUMP = """
import hashlib, json
from datetime import timedelta
from django.utils import timezone
from cvrtracker.amazon.models import SalesTrafficDay, SellerConnection, SyncJob
from cvrtracker.listings.models import InventoryLevel, Listing, ListingSnapshot
from cvrtracker.listings.services import listing_content
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.models import MetricBlock, Order
from cvrtracker.metrics.orders import order_data
from cvrtracker.metrics.services import block_data
c = SellerConnection.objects.first()
out = {"status": c.status if c else None}
if c:
    keys = ConnectionKeys(c)
    today = timezone.now().date()
    out["reports"] = sorted(SalesTrafficDay.objects.values_list("kind", "status"))
    succeeded = SyncJob.objects.exclude(last_success_at=None)
    out["jobs"] = sorted(succeeded.values_list("kind", flat=True))
    out["blocks"] = sorted(
        [b.marketplace_id, b.granularity, str(b.month), b.shard, b.rows,
         hashlib.sha256(block_data(b, keys).encode()).hexdigest()]
        for b in MetricBlock.objects.all()
    )
    out["snapshots"] = sorted(
        [item.sku, item.snapshots.count(),
         json.dumps(listing_content(connection=c, listing=item), sort_keys=True)]
        for item in Listing.objects.all()
    )
    out["inventory"] = InventoryLevel.objects.count()
    orders = Order.objects.all()
    out["order_rows"] = orders.count()
    out["order_ids"] = len({o.order_id_index for o in orders})
    first = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    # Whole days inside the first run's window (AMAZON_ORDERS_INITIAL_DAYS=3) in both runs.
    settled = orders.filter(created_time__gte=first - timedelta(days=2), created_time__lt=first)
    out["settled_orders"] = sorted(
        [order_data(connection=c, order=o)["order_id"], o.last_updated_time.isoformat()]
        for o in settled
    )
    # The upper bound of the last orders run (Amazon's lastUpdatedBefore).
    orders_job = SyncJob.objects.filter(kind="orders").first()
    out["orders_before"] = orders_job.cursor.get("after") if orders_job else None
print("DUMP" + json.dumps(out))
"""


def dump(env: dict) -> dict:
    output = manage(env, "shell", "-c", DUMP)
    return json.loads(output.split("DUMP", 1)[1])


def finished(state: dict) -> bool:
    reports = state.get("reports") or []
    return (
        bool(reports)
        # given_up: Brazil, participating but never opened, once the listings run knew.
        and all(status in ("done", "cancelled", "given_up") for _, status in reports)
        and state.get("jobs") == ["inventory", "listings", "orders"]
    )


# Generous: every poll spawns a `manage.py shell`, and CI runs this on 2 busy cores.
def wait_finished(env: dict, *, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = dump(env)
        if finished(state):
            return state
        assert time.monotonic() < deadline, f"the workers did not finish: {state.get('reports')}"
        time.sleep(1)
