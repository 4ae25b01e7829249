"""Rows and loopback receivers for the delivery tests.

Rules are created with the ORM here (a stand-in for the rules' services); the
channels go through alert_channel_create, the production path.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cvrtracker.alerts.channels import alert_channel_create
from cvrtracker.alerts.models import Alert, AlertRule, RuleChannel
from cvrtracker.amazon.models import SellerConnection

US = "ATVPDKIKX0DER"


def make_connection(team, seller_id: str = "A1ALERTS") -> SellerConnection:
    connection = SellerConnection(
        team=team,
        region="NA",
        selling_partner_id=seller_id,
        marketplaces=[{"id": US, "name": "Amazon.com"}],
    )
    connection.create_data_key()
    connection.save()
    return connection


def make_rule(team, *channels, kind=AlertRule.Kind.LISTING_CHANGED, enabled=True, user=None):
    rule = AlertRule.objects.create(
        team=team,
        kind=kind,
        params={"fields": ["title"]},
        enabled=enabled,
        opted_in_by=user,
    )
    for channel in channels:
        RuleChannel.objects.create(rule=rule, channel=channel)
    return rule


def make_alert(rule, connection, *, key="change|1", payload=None) -> Alert:
    alert = Alert(
        team=rule.team,
        rule=rule,
        kind=rule.kind,
        connection=connection,
        marketplace_id=US,
        asin="B0ALERT001",
        sku="SKU-1",
        day=date(2026, 11, 20),
        key=key,
    )
    payload = payload or {
        "title": "Garlic press, stainless",
        "field": "title",
        "before": "Garlic press",
        "after": "Garlic press, stainless",
    }
    alert.payload_enc = connection.data_key().encrypt_json(payload, aad=alert.aad())
    alert.save()
    return alert


def webhook_channel(user, url: str, name: str = "Hook"):
    return alert_channel_create(user=user, kind="webhook", name=name, target=url)


class Receiver:
    """A real HTTP server on loopback that records the POSTs it answered.

    `statuses` answer the first requests in turn (then 200); `hang` seconds delay the
    first answer (a worker can be killed meanwhile: that request is not recorded);
    `redirect` answers every request with a 302 to it.
    """

    def __init__(self, statuses=(), hang: float = 0.0, redirect: str = ""):
        self.statuses = list(statuses)
        self.hang = hang
        self.redirect = redirect
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.hanging = threading.Event()  # set when the hung request arrived
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    hang, receiver.hang = receiver.hang, 0.0
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if hang:
                    receiver.hanging.set()
                    time.sleep(hang)
                    return  # never answered: the sender gave up or died
                if receiver.redirect:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def json(self, n: int = 0) -> dict:
        return json.loads(self.requests[n]["body"])


@contextlib.contextmanager
def receiving(**kwargs):
    with Receiver(**kwargs) as receiver:
        yield receiver
