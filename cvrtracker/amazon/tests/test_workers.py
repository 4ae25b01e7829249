"""Real worker processes on both task backends, undisturbed and SIGKILLed mid-job."""

import time

import pytest
from django.utils import timezone

from cvrtracker.simulator.testing import SimClient, running_simulator

from . import workers

pytestmark = pytest.mark.slow


@pytest.fixture
def sim():
    with running_simulator(
        asins=5, quota="relaxed", today=timezone.now().date(), st_budget=False, marketplaces=1
    ) as server:
        yield server


@pytest.fixture
def redis_db():
    import redis

    client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{workers.RQ_DB}")
    client.flushdb()
    yield
    client.flushdb()


def running_count(log) -> int:
    return log.read_text(errors="replace").count("state=RUNNING") if log.exists() else 0


def kill_at(env, log, nth: int) -> None:
    """Start a worker and SIGKILL it inside its `nth` job (each call takes 150 ms)."""
    seen = running_count(log)
    worker = workers.start(env, *workers.worker_argv(env), log=log)
    deadline = time.monotonic() + 30
    while running_count(log) < seen + nth and worker.poll() is None:
        if time.monotonic() > deadline:
            # The earlier workers already did the work: there is no nth job left to
            # interrupt. Killing an idle worker still must not change any row.
            break
        time.sleep(0.02)
    time.sleep(0.1)
    workers.kill(worker)  # SIGKILL: no cleanup, whatever it was doing


def run(tmp_path, sim, *, redis: bool, kills: tuple[int, ...] = ()) -> dict:
    """Sync the demo seller with a scheduler and a worker, killed inside its jobs `kills`."""
    database, drop = workers.database_url(tmp_path)
    env = workers.environment(tmp_path, sim, database, redis=redis)
    log = tmp_path / "processes.log"
    processes = []
    try:
        workers.prepare(env)
        scheduler = workers.start(env, "scheduler", log=log)
        processes.append(scheduler)
        for nth in kills:
            kill_at(env, log, nth)
        worker = workers.start(env, *workers.worker_argv(env), log=log)
        processes.append(worker)
        return workers.wait_finished(env)
    finally:
        for process in processes:
            workers.kill(process)
        drop()


def assert_same_rows(state: dict, golden: dict) -> None:
    assert state["blocks"] == golden["blocks"]  # every metric value, decrypted
    assert state["snapshots"] == golden["snapshots"]  # one snapshot per listing, same content
    assert all(n == 1 for _, n, _ in state["snapshots"])
    assert state["inventory"] == golden["inventory"]
    # Orders updated before both runs' upper bounds (the runs are a minute apart).
    cut = min(state["orders_before"], golden["orders_before"]).replace("Z", "+00:00")
    from datetime import datetime

    def settled(run):
        return [
            i
            for i, updated in run["settled_orders"]
            if datetime.fromisoformat(updated) < datetime.fromisoformat(cut)
        ]

    assert settled(state) == settled(golden) and settled(golden)
    assert state["order_rows"] == state["order_ids"]  # no order twice


@pytest.mark.parametrize("redis", [False, True], ids=["db_worker", "rqworker"])
def test_a_worker_killed_mid_job_leaves_the_same_rows(tmp_path, sim, redis, redis_db):
    golden = run(tmp_path / "golden", sim, redis=redis)
    assert golden["status"] == "active" and len(golden["blocks"]) >= 2
    assert len(golden["snapshots"]) == 5 and golden["settled_orders"]
    # Slow calls, so that each kill lands inside a job: the daily connection sync,
    # the listings and inventory runs, report requests, polls and downloads.
    SimClient(sim).post("/_sim/faults", json_body={"operation": "*", "latency_ms": 150})
    state = run(tmp_path / "killed", sim, redis=redis, kills=(1, 2, 3, 5, 8))
    assert_same_rows(state, golden)
