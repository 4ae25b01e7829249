"""`runall` starts the web server and the worker, and Ctrl-C stops them all."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.conf import settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[1].split()[0] != "Z"


@pytest.mark.slow
def test_ctrl_c_stops_every_process(tmp_path):
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "SIM_PORT": str(free_port()),
        "SIM_CA_DIR": str(tmp_path / "sim"),
        "SIM_ASINS": "20",
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
    port = free_port()
    proc = subprocess.Popen(
        [*manage, "runall", "--port", str(port)], env=env, stdout=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.load(r)
                break
            except OSError:
                assert time.monotonic() < deadline, "the web server did not come up"
                time.sleep(0.5)
        assert body["status"] == "ok"
        while True:  # the simulator listens for TLS on its own port
            try:
                socket.create_connection(("127.0.0.1", int(env["SIM_PORT"])), timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the simulator did not come up"
                time.sleep(0.5)
        children = children_of(proc.pid)
        assert len(children) == 4  # web, worker, scheduler and the Amazon simulator
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        time.sleep(0.5)
        assert [pid for pid in children if alive(pid)] == []
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_relaxed_simulator_speeds_up_the_sales_and_traffic_budget_alike(monkeypatch):
    from cvrtracker.front.management.commands.runall import child_environment
    from cvrtracker.simulator.ratelimit import RELAXED_FACTOR

    monkeypatch.delenv("AMAZON_ST_TIME_SCALE", raising=False)
    monkeypatch.delenv("SIM_QUOTA", raising=False)
    assert child_environment(simulated=True)["AMAZON_ST_TIME_SCALE"] == f"{RELAXED_FACTOR:g}"
    # Amazon's real clock against Amazon, or the simulator's real quotas.
    assert "AMAZON_ST_TIME_SCALE" not in child_environment(simulated=False)
    monkeypatch.setenv("SIM_QUOTA", "real")
    assert "AMAZON_ST_TIME_SCALE" not in child_environment(simulated=True)
    # An operator's own choice wins.
    monkeypatch.setenv("SIM_QUOTA", "relaxed")
    monkeypatch.setenv("AMAZON_ST_TIME_SCALE", "10")
    assert child_environment(simulated=True)["AMAZON_ST_TIME_SCALE"] == "10"


def test_the_demo_simulator_takes_its_world_from_the_environment(monkeypatch):
    from cvrtracker.front.management.commands.runall import simulator_command
    from cvrtracker.simulator.management.commands.amazonsim import Command as Amazonsim

    def parsed():
        argv = simulator_command()
        assert argv[0] == "amazonsim"
        return vars(Amazonsim().create_parser("manage.py", "amazonsim").parse_args(argv[1:]))

    for name in ("SIM_SEED", "SIM_SELLERS", "SIM_CHANGE_RATE"):
        monkeypatch.delenv(name, raising=False)
    options = parsed()
    # Seller 0 is the demo team's; the others are left for a newcomer's consent flow.
    assert (options["seed"], options["sellers"], options["change_rate"]) == (42, 3, None)
    monkeypatch.setenv("SIM_SEED", "7")
    monkeypatch.setenv("SIM_SELLERS", "5")
    monkeypatch.setenv("SIM_CHANGE_RATE", "2.5")
    options = parsed()
    assert (options["seed"], options["sellers"], options["change_rate"]) == (7, 5, 2.5)


def test_the_demo_follows_the_simulators_clock_and_starts_it_91_days_back(monkeypatch):
    from cvrtracker.front.management.commands.runall import child_environment

    for name in ("SIM_REPLAY_DAYS", "TRACKER_CLOCK", "SIM_QUOTA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEMO_CONNECT", "1")
    env = child_environment(simulated=True)
    assert (env["TRACKER_CLOCK"], env["SIM_REPLAY_DAYS"]) == ("simulator", "91")
    monkeypatch.setenv("SIM_REPLAY_DAYS", "0")
    assert child_environment(simulated=True)["SIM_REPLAY_DAYS"] == "0"
    # Against Amazon (no simulator started) the clock is the system's.
    assert "TRACKER_CLOCK" not in child_environment(simulated=False)
    monkeypatch.delenv("DEMO_CONNECT")
    monkeypatch.delenv("SIM_REPLAY_DAYS")
    assert "SIM_REPLAY_DAYS" not in child_environment(simulated=True)
