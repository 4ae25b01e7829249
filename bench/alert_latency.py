"""Detection latency: from a change made on Amazon to the alert delivered.

    .venv/bin/python bench/alert_latency.py [--products 1000] [--trials 4] [--sweep-minutes 5]

The whole product runs as `make run` runs it, in separate processes: the simulator
in `real` quota mode (`amazonsim --quota real --marketplaces 1`, the seller selling in
the US only, `--products` products), one `db_worker` and the `scheduler`, on a fresh
SQLite database (or DATABASE_URL) in a temporary directory. The demo team (on its
trial, which tracks up to 1,000 products) connects the seller, adds a webhook channel
to a real HTTP receiver on loopback and switches on a "listing changed: title" rule.

Once the first listings sweep has read every listing, each trial waits a random time
(uniform over one sweep interval, so the change lands at a random point of the sweep
cycle), changes a random tracked product's title through `/_sim/` (catalog delay 0),
and waits for the signed webhook naming that product. Printed per trial: the latency
and its parts (change → the sweep that saw it stored the change; → the alert; → the
delivery sent; → the receiver got it); then median and maximum.

Goal (issue 11, item 7): ≤ 10 minutes for 1,000 products at Amazon's real quotas.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import ssl
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from amazon_sync import django_ready, setup_environment, simulator, start, stop  # noqa: E402


class Receiver:
    """A loopback HTTP server recording (time received, JSON body) of every POST."""

    def __init__(self) -> None:
        self.got: list[tuple[float, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.got.append((time.time(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, asin: str, *, since: float, timeout: float) -> float | None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for at, body in self.got:
                if at >= since and body.get("product", {}).get("asin") == asin:
                    return at
            time.sleep(0.5)
        return None


def one_market(tmp: Path, products: int):
    import amazon_sync

    original = amazon_sync.start

    def start_one(env, *argv, log):
        return original(env, *argv, "--marketplaces", "1", log=log)

    amazon_sync.start = start_one
    try:
        return simulator(tmp, quota="real", asins=products)
    finally:
        amazon_sync.start = original


def change_title(url: str, ca: str, seller_id: str, sku: str, n: int) -> None:
    answer = httpx.post(
        f"{url}/_sim/sellers/{seller_id}/listings/{sku}",
        json={"field": "title", "value": f"Bench title {n}", "catalogDelaySeconds": 0},
        verify=ssl.create_default_context(cafile=ca),
    )
    answer.raise_for_status()


def ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--sweep-minutes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    tmp = Path(tempfile.mkdtemp(prefix="cvrt-alert-latency-"))
    os.environ["VAR_DIR"] = str(tmp)
    sim, url, ca = one_market(tmp, args.products)
    receiver = Receiver()
    env = setup_environment(
        tmp,
        url,
        ca,
        LISTINGS_SWEEP_MINUTES=str(args.sweep_minutes),
        ALERTS_ALLOW_PRIVATE_TARGETS="127.0.0.1/32",
    )
    processes = []
    try:
        django_ready()
        import logging

        logging.getLogger("cvrtracker").setLevel(logging.WARNING)
        from django.core.management import call_command

        from cvrtracker.accounts.models import User
        from cvrtracker.alerts.channels import alert_channel_create
        from cvrtracker.alerts.models import Alert, AlertRule, Delivery
        from cvrtracker.alerts.services import alert_rule_create
        from cvrtracker.amazon.models import SellerConnection, SyncJob
        from cvrtracker.listings.models import Listing, ListingChange

        call_command("demo_connect", stdout=open(os.devnull, "w"))  # noqa: SIM115
        user = User.objects.get(email="demo@example.com")
        hook = alert_channel_create(user=user, kind="webhook", name="Bench", target=receiver.url)
        alert_rule_create(
            user=user,
            kind=AlertRule.Kind.LISTING_CHANGED,
            params={"fields": ["title"]},
            scope=AlertRule.Scope.TRACKED,
            channels=[hook],
            enabled=True,
        )
        log = tmp / "processes.log"
        processes.append(
            start(
                env, "db_worker", "--queue-name", "*", "--no-reload", "--interval", "0.2", log=log
            )
        )
        processes.append(start(env, "scheduler", log=log))
        connection = SellerConnection.objects.get()
        seller_id = connection.selling_partner_id
        print(
            f"{args.products} products, US only, simulator in real quota mode; "
            f"LISTINGS_SWEEP_MINUTES={args.sweep_minutes}; one db_worker, one scheduler"
        )
        started = time.time()
        while not SyncJob.objects.filter(
            kind=SyncJob.Kind.LISTINGS, last_success_at__isnull=False
        ).exists():
            if time.time() - started > 1800:
                raise SystemExit("the first listings sweep did not finish in 30 minutes")
            time.sleep(2)
        tracked = list(
            Listing.objects.filter(tracking=Listing.Tracking.TRACKED).values_list("sku", "asin")
        )
        print(
            f"first sweep done after {time.time() - started:.0f} s; {len(tracked)} listings tracked"
        )

        latencies = []
        for n in range(1, args.trials + 1):
            time.sleep(rng.uniform(0, args.sweep_minutes * 60))
            sku, asin = rng.choice(tracked)
            made = time.time()
            change_title(url, ca, seller_id, sku, n)
            got = receiver.wait_for(asin, since=made, timeout=3600)
            if got is None:
                print(f"  trial {n}: {asin} no alert within an hour")
                continue
            change = ListingChange.objects.filter(asin=asin, field="title").order_by("-id").first()
            alert = Alert.objects.filter(asin=asin).order_by("-id").first()
            sent = Delivery.objects.filter(alert=alert).first() if alert else None
            parts = [ts(change.created_at) if change else None]
            parts += [ts(alert.created_at) if alert else None, ts(sent.sent_at) if sent else None]
            steps = []
            last = made
            for label, at in zip(("change stored", "alert", "sent"), parts, strict=True):
                if at is not None:
                    steps.append(f"{label} +{at - last:.1f} s")
                    last = at
            steps.append(f"received +{got - last:.1f} s")
            latencies.append(got - made)
            print(f"  trial {n}: {got - made:6.1f} s  ({'; '.join(steps)})")
        if latencies:
            median = statistics.median(latencies)
            print(
                f"latency over {len(latencies)} trials: median {median:.0f} s,"
                f" max {max(latencies):.0f} s (goal ≤ 600 s); bound: LISTINGS_SWEEP_MINUTES "
                f"({args.sweep_minutes * 60} s) + one sweep + evaluation and delivery"
            )
        now = datetime.now(UTC).isoformat(timespec="seconds")
        alerts = Alert.objects.count()
        print(f"at {now}: {alerts} alerts, {receiver.got.__len__()} webhooks received")
    finally:
        for process in processes:
            stop(process)
        stop(sim)
        receiver.server.shutdown()


if __name__ == "__main__":
    main()
