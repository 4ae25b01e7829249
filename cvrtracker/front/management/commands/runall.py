"""Start every process of the embedded product and stop them all together.

`make run` calls this. Each process is a plain manage.py command, so at scale
the same pieces run separately (web behind a WSGI server, N workers, one or
two schedulers).
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

STOP_GRACE_SECONDS = 10
# The demo's listing history: the simulator starts this many days in the past. 90 days of
# history, and one more so that the first read sees the listings before the oldest
# scripted story (day -90, README "Scripted changes"), which then shows as a change.
DEMO_REPLAY_DAYS = 91
# Started only once the demo's replay is over, so that it never syncs a seller the replay
# is syncing (the replay runs the same jobs itself, a day at a time). The worker starts at
# once: it runs only what is enqueued, and the scheduler is what enqueues syncs.
AFTER_REPLAY = ("scheduler",)


def worker_command() -> list[str]:
    if settings.REDIS_URL:
        # django-tasks-rq's job class is what lets RQ run django.tasks tasks.
        return ["rqworker", "default", "--job-class", "django_tasks_rq.backend.Job"]
    return ["db_worker", "--queue-name", "*", "--no-reload"]


def simulator_quota() -> str:
    # Relaxed quotas by default: with Amazon's real ones a two-year backfill
    # takes days, and a newcomer should see data within a minute.
    return os.environ.get("SIM_QUOTA", "relaxed")


def simulator_command() -> list[str]:
    return [
        "amazonsim",
        "--port",
        os.environ.get("SIM_PORT", "8100"),
        "--quota",
        simulator_quota(),
        "--asins",
        os.environ.get("SIM_ASINS", "200"),
        *simulator_world_options(),
    ]


def simulator_world_options() -> list[str]:
    """The demo world: its seed, a few sellers beyond the demo team's (seller 0) so that a
    newcomer who signs up can try the consent flow, and the background change rate."""
    options = [
        "--seed",
        os.environ.get("SIM_SEED", "42"),
        "--sellers",
        os.environ.get("SIM_SELLERS", "3"),
    ]
    if os.environ.get("SIM_CHANGE_RATE"):
        options += ["--change-rate", os.environ["SIM_CHANGE_RATE"]]
    return options


def demo_replays() -> bool:
    """make run: the demo seller is connected, and its past days replayed, by demo_connect."""
    return os.environ.get("DEMO_CONNECT") == "1"


def child_environment(*, simulated: bool) -> dict[str, str]:
    """Our environment for every child, with these defaults against the simulator: the
    tracker's clock follows the simulator's (so the replay moves it); the demo's simulator
    starts SIM_REPLAY_DAYS (90) days in the past, for demo_connect to replay; and against
    the relaxed simulator the Sales & Traffic budget's clock runs as fast as its own, and
    Data Kiosk queries are polled every 2 s."""
    env = dict(os.environ)
    if simulated:
        env.setdefault("TRACKER_CLOCK", "simulator")
        if demo_replays():
            env.setdefault("SIM_REPLAY_DAYS", str(DEMO_REPLAY_DAYS))
    if simulated and simulator_quota() == "relaxed":
        from cvrtracker.simulator.ratelimit import RELAXED_FACTOR

        env.setdefault("AMAZON_ST_TIME_SCALE", f"{RELAXED_FACTOR:g}")
        # Its Data Kiosk queries are done in well under a second, not minutes: the two
        # years are in a minute after the replay instead of waiting 30 s per poll.
        env.setdefault("AMAZON_DATAKIOSK_POLL_SECONDS", "2")
    return env


class Command(BaseCommand):
    help = "Run the web server, the task worker and the Amazon simulator (Ctrl-C stops them all)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, port: int, **options):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = {
            "web": [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [*manage, *worker_command()],
            "scheduler": [*manage, "scheduler"],  # enqueues due Amazon syncs
        }
        if not getattr(settings, "AMAZON_PRODUCTION", False):
            # The embedded product talks to the local Amazon simulator, never to Amazon.
            commands["simulator"] = [*manage, *simulator_command()]
        for name, extra in getattr(settings, "RUNALL_EXTRA_PROCESSES", {}).items():
            commands[name] = [*manage, *extra]

        env = child_environment(simulated="simulator" in commands)
        # The children's settings.SITE_ROOT (links, the Amazon callback) follow the port served.
        env["PORT"] = str(port)
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum=None, frame=None):
            nonlocal stopping
            stopping = True

        def start(name: str, argv: list[str]) -> None:
            # A new process group per child: Ctrl-C reaches us, and we stop them in order.
            children[name] = subprocess.Popen(argv, start_new_session=True, env=env)  # noqa: S603 - our own argv
            self.stdout.write(f"started {name} (pid {children[name].pid})")

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        held = {}
        if "simulator" in commands and demo_replays():
            held = {name: commands.pop(name) for name in AFTER_REPLAY}
        for name, argv in commands.items():
            start(name, argv)
        demo = None
        if held:
            # make run: connect the demo team once the simulator answers, and replay its
            # past days (a one-off); the scheduler starts when it is over.
            demo = subprocess.Popen([*manage, "demo_connect"], start_new_session=True, env=env)  # noqa: S603 - our own argv
            self.stdout.write(
                f"replaying the demo seller's last {env.get('SIM_REPLAY_DAYS')} days; "
                "syncing goes on live when the replay is done"
            )
        self.stdout.write(f"CVR Tracker is running at http://127.0.0.1:{port}/ (Ctrl-C stops it)")

        exit_code = 0
        while not stopping:
            if demo is not None and demo.poll() is not None:
                if demo.returncode:
                    self.stderr.write(f"demo_connect exited with code {demo.returncode}")
                demo = None
                for name, argv in held.items():
                    start(name, argv)
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"{name} exited with code {child.returncode}; stopping all")
                    exit_code = child.returncode or 1
                    stopping = True
            time.sleep(0.5)
        if demo is not None and demo.poll() is None:
            children["demo_connect"] = demo
        self._stop_all(children)
        sys.exit(exit_code)

    def _stop_all(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            self.stdout.write(f"stopped {name}")
