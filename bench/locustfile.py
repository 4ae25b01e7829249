"""Locust users for bench/dashboard_load.py: sellers who log in and browse the dashboard.

Run through dashboard_load.py, which starts the server on the bench database and writes
the targets file (BENCH_TARGETS: login, connection, marketplace, ASINs and which pages
are built). By hand, against a server already running on a filled bench database:

    BENCH_TARGETS=var/bench-targets.json .venv/bin/locust -f bench/locustfile.py \
        --headless -u 32 -r 8 -t 60s --host http://127.0.0.1:8871

Each user logs in once through the login form, then browses with a person's pauses
(BENCH_WAIT, default "1,3" seconds): the overview, the product table (sorted by several
columns, searched, paged) and product pages over several ranges. A page that is not
built yet is left out; when none is, users browse the overview placeholder only
(`baseline` in the targets file), which measures the server and login, not the pages.

Logging in hashes the password with Argon2 (about 100 MB and a good part of a second of
CPU each, on purpose), and 32 users starting together queue behind each other's hashes.
So the measurement window starts when every user is logged in: the listener below keeps
each request's time, logins apart, and page requests from that moment on for
BENCH_SECONDS seconds, and writes them to BENCH_RESULTS when locust quits.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path

import gevent
from locust import HttpUser, between, events, task

TARGETS = json.loads(Path(os.environ.get("BENCH_TARGETS", "var/bench-targets.json")).read_text())
PAGES = set(TARGETS["pages"])
WAIT = [float(x) for x in os.environ.get("BENCH_WAIT", "1,3").split(",")]
# The product table's ?sort= keys (dashboard/table.py SORT_KEYS; an unknown one falls back
# to the default order, so a renamed key would only make the mix less varied).
SORTS = [
    "-conversion_change",
    "conversion_change",
    "-sessions",
    "-units",
    "-revenue",
    "-conversion",
    "buy_box",
    "asin",
]
SEARCHES = ["kitchen", "pieces", "B0", "BENCH-0001", "helper 1"]
USERS = int(os.environ.get("BENCH_USERS", "32"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
RESULTS: dict = {"logins": [], "requests": {}, "failures": {}, "window": None}
_logged_in = {"count": 0, "at": None}


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    if name in ("login", "login form"):
        if name == "login":
            RESULTS["logins"].append(response_time)
        if exception is not None:
            RESULTS["failures"][name] = RESULTS["failures"].get(name, 0) + 1
        return
    started = _logged_in["at"]
    if started is None or time.monotonic() - started > SECONDS:
        return
    RESULTS["requests"].setdefault(name, []).append(response_time)
    if exception is not None:
        RESULTS["failures"][name] = RESULTS["failures"].get(name, 0) + 1


@events.quitting.add_listener
def _write(environment, **kwargs):
    if _logged_in["at"] is not None:
        RESULTS["window"] = min(SECONDS, time.monotonic() - _logged_in["at"])
    RESULTS["logged_in"] = _logged_in["count"]
    path = os.environ.get("BENCH_RESULTS")
    if path:
        Path(path).write_text(json.dumps(RESULTS))


class Seller(HttpUser):
    wait_time = between(*WAIT)

    def on_start(self) -> None:
        form = self.client.get("/accounts/login/", name="login form")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        with self.client.post(
            "/accounts/login/",
            {
                "username": TARGETS["email"],
                "password": TARGETS["password"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="login",
            catch_response=True,
        ) as response:
            if "/accounts/login/" in response.url:
                response.failure("login refused")
        _logged_in["count"] += 1
        if _logged_in["count"] == USERS:
            _logged_in["at"] = time.monotonic()
            gevent.spawn_later(SECONDS + 0.5, self.environment.runner.quit)
        self.scope = f"account={TARGETS['connection']}&marketplace={TARGETS['marketplace']}"

    def _asin(self) -> str:
        return random.choice(TARGETS["asins"])

    @task(2)
    def overview(self) -> None:
        if "overview" not in PAGES and not TARGETS.get("baseline"):
            return
        period = random.choice([30, 30, 7, 90])
        self.client.get(f"/dashboard/?{self.scope}&period={period}", name="overview")

    @task(4)
    def table(self) -> None:
        if "table" not in PAGES:
            return
        query = f"{self.scope}&period={random.choice([30, 30, 90])}&sort={random.choice(SORTS)}"
        roll = random.random()
        if roll < 0.25:
            query += f"&q={random.choice(SEARCHES)}"
        elif roll < 0.5:
            query += f"&page={random.randint(2, 20)}"
        self.client.get(f"/dashboard/products/?{query}", name="table")

    @task(3)
    def product(self) -> None:
        if "product" not in PAGES:
            return
        period = random.choice([30, 90, 365, 730, 730])
        url = (
            f"/dashboard/products/{TARGETS['connection']}/{TARGETS['marketplace']}/"
            f"{self._asin()}/?period={period}"
        )
        self.client.get(url, name="product")
