"""The task queue holds ids, never content (issue 15, point 2).

A queued task's arguments lie in the queue's storage for as long as it waits: a
row of the database queue (django_tasks_db) or a job hash on Redis (RQ), neither
encrypted by us. So every task the product enqueues takes ids (row ids, a claim
token that is a timestamp, a marketplace id, a flag, a reason from a fixed list)
and reads what it works on from the database, where it is encrypted.

The test finds every `@task` in the code and every module that enqueues one, then
drives the product's own code paths that enqueue them (the scheduler's tick, the
alerts' schedule and hooks, a delivery sweep, a channel test, a data export
request, a disconnect, a Data Kiosk document stored, a listings sweep) for a
seller whose names, emails, SKUs, ASINs, seller id and tokens carry a canary, on
both backends. It then checks each stored argument's type and value and searches
the raw storage (the queue's rows, Redis's bytes, RQ's compressed job data
decompressed) for every canary. A new task, or a new module that enqueues one,
fails the test until it has a case here.
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import re
import secrets
import uuid
import zlib
from datetime import date, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent / "cvrtracker"
US = "ATVPDKIKX0DER"
# A Redis database of its own (the worker tests use 13): flushed before and after.
RQ_URL = "redis://127.0.0.1:6379/11"

# Where each task is enqueued, and how this test reaches it (the product's own call).
CASES = {
    "cvrtracker.amazon.tasks.sync_marketplaces": "enqueue_sync_marketplaces (on connect)",
    "cvrtracker.amazon.tasks.sync_connection": "schedule_due: a due connection",
    "cvrtracker.amazon.tasks.run_sync_job": "schedule_due: a due listings job",
    "cvrtracker.amazon.tasks.sales_traffic_step": "schedule_due: a requested report to poll",
    "cvrtracker.amazon.tasks.datakiosk_step": "schedule_due: a requested query to poll",
    "cvrtracker.alerts.tasks.evaluate_alerts": "alerts_schedule, and a listing change stored",
    "cvrtracker.alerts.tasks_delivery.deliver": "deliveries_enqueue_due",
    "cvrtracker.alerts.tasks_delivery.send_test": "alert_channel_send_test",
    "cvrtracker.privacy.tasks_export.build_data_export": "data_export_request",
    "cvrtracker.privacy.tasks_purge.connection_purge_task": "connection_disconnect",
    "cvrtracker.listings.tasks.derive_listing_changes": "a Data Kiosk chunk stored (not last)",
    "cvrtracker.impact.tasks.derive_and_measure": "the last Data Kiosk chunk stored",
    "cvrtracker.impact.tasks.refresh_impacts": "a listings sweep stored a new change",
}
# Modules that call `<task>.enqueue`; each is driven below.
ENQUEUING_MODULES = {
    "cvrtracker/alerts/channels.py",
    "cvrtracker/alerts/delivery.py",
    "cvrtracker/alerts/tasks.py",
    "cvrtracker/amazon/sync/catalog.py",
    "cvrtracker/amazon/sync/datakiosk.py",
    "cvrtracker/amazon/sync/sales_traffic.py",
    "cvrtracker/amazon/sync/scheduler.py",
    "cvrtracker/amazon/tasks.py",
    "cvrtracker/privacy/export.py",
    "cvrtracker/privacy/receivers.py",
}


def _product_files():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "migrations" in parts or path.name == "test.py":
            continue
        yield path, ast.parse(path.read_text(), filename=str(path))


def _is_task_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name == "task"


def discovered_tasks() -> set[str]:
    """Every function decorated with django.tasks' `task` in the product's code."""
    found = set()
    for path, tree in _product_files():
        module = ".".join(("cvrtracker", *path.relative_to(ROOT).with_suffix("").parts))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                _is_task_decorator(d) for d in node.decorator_list
            ):
                found.add(f"{module}.{node.name}")
    return found


def enqueuing_modules() -> set[str]:
    """Every product module that reads an `enqueue` attribute (task.enqueue(...))."""
    found = set()
    for path, tree in _product_files():
        if any(isinstance(n, ast.Attribute) and n.attr == "enqueue" for n in ast.walk(tree)):
            found.add(str(path.relative_to(ROOT.parent)))
    return found


def test_every_task_and_every_enqueuing_module_has_a_case():
    tasks = discovered_tasks()
    assert len(tasks) >= 13  # the walk works
    assert tasks == set(CASES), (
        "A task was added or removed: give it a case in tests/test_task_payloads.py "
        f"(missing: {sorted(tasks - set(CASES))}, stale: {sorted(set(CASES) - tasks)})"
    )
    modules = enqueuing_modules()
    assert modules == ENQUEUING_MODULES, (
        "A module started or stopped enqueuing tasks: drive it in this test "
        f"(new: {sorted(modules - ENQUEUING_MODULES)}, "
        f"stale: {sorted(ENQUEUING_MODULES - modules)})"
    )


# The seller ------------------------------------------------------------------------
class Canaries:
    """A seller whose every text carries a random canary, and the rows due for work."""

    def __init__(self):
        self.canary = "CNRY" + secrets.token_hex(5).upper()
        c = self.canary
        self.email = f"owner.{c.lower()}@example.org"
        self.channel_email = f"alerts.{c.lower()}@example.org"
        self.seller_id = f"A{c}"
        self.asins = [f"B0{c[-8:]}", f"B1{c[-8:]}"]
        self.sku = f"SKU-{c}"
        self.title = f"Kettle {c}"
        self.refresh_token = f"Atzr|{c}-refresh"
        self.access_token = f"Atza|{c}-access"

    def needles(self) -> list[bytes]:
        words = [
            self.canary,
            self.canary.lower(),
            self.email,
            self.channel_email,
            self.seller_id,
            self.sku,
            self.title,
            self.refresh_token,
            self.access_token,
            *self.asins,
        ]
        out = []
        for word in words:
            out += [word.encode(), word.encode("utf-16-le")]
        return out


def _seller(c: Canaries):
    from cvrtracker.accounts.models import Membership
    from cvrtracker.amazon.models import DataKioskQuery, SalesTrafficDay, SyncJob
    from cvrtracker.listings.services import listings_admit
    from cvrtracker.metrics.tests.helpers import make_connection
    from cvrtracker.test import make_user

    owner = make_user(c.email)
    owner.name = f"Owner {c.canary}"
    owner.save(update_fields=["name"])
    team = Membership.objects.get(user=owner).team
    team.name = f"Team {c.canary}"
    team.save(update_fields=["name"])
    connection = make_connection(team, owner, seller_id=c.seller_id)
    connection.refresh_token_enc = connection.seal("refresh_token", c.refresh_token)
    connection.access_token_enc = connection.seal("access_token", c.access_token)
    connection.store_name_enc = connection.seal("store_name", f"{c.canary} Store")
    connection.marketplaces = [{"id": US, "name": "Amazon.com"}]
    connection.save()
    summary = {"marketplaceId": US, "status": ["BUYABLE"], "itemName": c.title}
    listings_admit(
        connection=connection,
        marketplace_id=US,
        items=[
            {"sku": f"{c.sku}-{n}", "summaries": [{**summary, "asin": asin}], "issues": []}
            for n, asin in enumerate(c.asins)
        ],
    )
    past = timezone.now() - timedelta(minutes=5)
    today = timezone.now().date()
    connection.next_sync_at = past
    connection.save(update_fields=["next_sync_at"])
    SyncJob.objects.create(connection=connection, kind=SyncJob.Kind.LISTINGS, next_run_at=past)
    SalesTrafficDay.objects.create(
        connection=connection,
        marketplace_id=US,
        day=today - timedelta(days=3),
        status=SalesTrafficDay.Status.REQUESTED,
        report_id=f"report-{c.canary}",
        next_attempt_at=past,
    )
    DataKioskQuery.objects.create(
        connection=connection,
        marketplace_id=US,
        kind=DataKioskQuery.Kind.BY_DATE,
        status=DataKioskQuery.Status.REQUESTED,
        query_id=f"query-{c.canary}",
        start_day=today - timedelta(days=30),
        end_day=today,
        next_attempt_at=past,
    )
    chunks = [
        DataKioskQuery.objects.create(
            connection=connection,
            marketplace_id=US,
            kind=DataKioskQuery.Kind.TRENDS,
            asins=[asin],
            chunk_key=asin,
            status=DataKioskQuery.Status.REQUESTED,
            query_id=f"query-{c.canary}-{asin}",
            start_day=today - timedelta(days=30),
            end_day=today,
        )
        for asin in c.asins
    ]
    return owner, connection, chunks


def drive_every_enqueue(c: Canaries, capture, run=lambda: None) -> None:
    """Make the product enqueue every task, through its own code paths; `run()` is
    called before the disconnect (which shreds the account's key) and after it."""
    from cvrtracker.alerts.channels import alert_channel_create, alert_channel_send_test
    from cvrtracker.alerts.delivery import deliveries_enqueue_due
    from cvrtracker.alerts.models import Alert, AlertChannel, AlertRule, Delivery
    from cvrtracker.alerts.services import alert_rule_create
    from cvrtracker.alerts.tasks import alerts_schedule
    from cvrtracker.amazon.services import connection_disconnect
    from cvrtracker.amazon.sync import datakiosk as dk
    from cvrtracker.amazon.sync.catalog import _measure_new_changes
    from cvrtracker.amazon.sync.scheduler import schedule_due
    from cvrtracker.amazon.tasks import enqueue_sync_marketplaces
    from cvrtracker.impact.tasks import derive_and_measure
    from cvrtracker.listings.changes import NewChange, listing_changes_store
    from cvrtracker.listings.models import Listing, ListingChange
    from cvrtracker.metrics.keys import ConnectionKeys
    from cvrtracker.privacy.export import data_export_request

    owner, connection, chunks = _seller(c)
    with capture(execute=True):
        enqueue_sync_marketplaces(connection)
    with capture(execute=True):
        assert schedule_due() >= 4  # the connection, the job, the report, the by-date query
    # Alerts: a rule with a channel; the periodic schedule; a delivery due; a test send.
    with capture(execute=True):
        channel = alert_channel_create(
            user=owner, kind="email", name=f"Channel {c.canary}", target=c.channel_email
        )
    AlertChannel.objects.filter(pk=channel.pk).update(status=AlertChannel.Status.ACTIVE)
    channel.refresh_from_db()
    rule = alert_rule_create(
        user=owner,
        kind=AlertRule.Kind.LISTING_CHANGED,  # an event rule: listing changes wake it
        params={"fields": ["title"]},
        channels=[channel],
        enabled=True,
    )
    with capture(execute=True):
        assert alerts_schedule() == 1
    keys = ConnectionKeys(connection)
    alert = Alert(
        team=connection.team,
        rule=rule,
        kind=rule.kind,
        connection=connection,
        marketplace_id=US,
        asin=c.asins[0],
        sku=c.sku,
        day=timezone.now().date(),
        key=f"payloads-{c.canary}",
    )
    alert.payload_enc = keys.data.encrypt_json({"title": c.title}, aad=alert.aad())
    alert.save()
    Delivery.objects.create(
        alert=alert, channel=channel, next_attempt_at=timezone.now() - timedelta(hours=1)
    )
    with capture(execute=True):
        assert deliveries_enqueue_due() == 1
    with capture(execute=True):
        alert_channel_send_test(user=owner, channel=channel)
    # A listings sweep stores a change: the event rules and the impacts are woken.
    since = timezone.now()
    listing = Listing.objects.get(connection=connection, asin=c.asins[0])
    with capture(execute=True):
        listing_changes_store(
            connection=connection,
            changes=[
                NewChange(
                    key=f"payloads:{c.canary}",
                    field=ListingChange.Field.TITLE,
                    source=ListingChange.Source.OBSERVED,
                    marketplace_id=US,
                    day=since.date(),
                    seen_at=since,
                    seen_after=since - timedelta(hours=1),
                    payload={"before": c.title, "after": f"New {c.title}"},
                    asin=c.asins[0],
                    sku=listing.sku,
                    listing=listing,
                )
            ],
        )
        _measure_new_changes(connection, US, since=since)
    # Data Kiosk: both chunks' (empty) documents stored, the first then the last.
    for chunk in chunks:
        with capture(execute=True):
            dk._fetch(None, chunk, None)
    # sales_traffic.py's call site stores a whole day's report first (its module's
    # tests drive it); the arguments it passes, as it passes them:
    derive_and_measure.enqueue(connection.pk, US)
    with capture(execute=True):
        data_export_request(user=owner)
    run()
    with capture(execute=True):
        connection_disconnect(connection=connection, actor=owner)  # last: shreds the key
    run()


# What an argument may be ------------------------------------------------------------
def _allowed_strings() -> set[str]:
    from cvrtracker.amazon.marketplaces import MARKETPLACES
    from cvrtracker.privacy.models import ConnectionDeletion

    return {"", *MARKETPLACES, *ConnectionDeletion.Reason.values}


def _allowed_results() -> set[str]:
    """The statuses the tasks return (sales_traffic_step's, datakiosk_step's,
    deliver's, build_data_export's); send_test's is "" or an error in our words."""
    from cvrtracker.alerts.models import Delivery
    from cvrtracker.privacy.models import DataExport

    return {
        "",
        "skipped",
        "stopped",
        "revoked",
        "retry",
        "gone",
        "the channel was removed",
        *Delivery.Status.values,
        *DataExport.Status.values,
    }


# A date, or a datetime as isoformat() writes it (the scheduler's claim tokens).
ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?)?$"
)


def assert_id_like(task_path: str, value, allowed: set[str]) -> None:
    if value is None or isinstance(value, bool | int | uuid.UUID | date | datetime):
        return
    assert isinstance(value, str), f"{task_path} got a {type(value).__name__}: {value!r}"
    if value in allowed or ISO_DATETIME.match(value):
        return
    try:
        uuid.UUID(value)
    except ValueError:
        pytest.fail(f"{task_path} got a string that is no id: {value!r}")


def assert_no_canary(where: str, raw: bytes, c: Canaries) -> None:
    found = [n for n in c.needles() if n in raw]
    assert not found, f"{where} holds {found}"


def check_queued(queued: list[tuple[str, list, dict]], c: Canaries) -> None:
    allowed = _allowed_strings()
    assert {path for path, _, _ in queued} == set(CASES), "every task was enqueued"
    for path, args, kwargs in queued:
        for value in [*args, *kwargs.values()]:
            assert_id_like(path, value, allowed)


# The database queue -----------------------------------------------------------------
@pytest.mark.django_db
def test_the_database_queue_holds_ids_only(settings, django_capture_on_commit_callbacks):
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # The Amazon tasks run too: against a closed port, failing at once.
    settings.AMAZON_LWA_TOKEN_URL = "https://127.0.0.1:1/auth/o2/token"
    settings.AMAZON_SPAPI_URLS = {region: "https://127.0.0.1:1" for region in ("NA", "EU", "FE")}
    settings.AMAZON_RETRY_ATTEMPTS = 1
    settings.AMAZON_CA_FILE = ""  # the system's CAs: the port is closed anyway
    c = Canaries()
    seen: list[DBTaskResult] = []

    def check_and_run() -> None:
        """Check what waits in the queue, then run it (a task's return value and a
        failure's traceback are stored on its row, checked below)."""
        ready = list(DBTaskResult.objects.filter(status="READY"))
        for row in ready:
            args, kwargs = row.args_kwargs["args"], row.args_kwargs["kwargs"]
            for value in [*args, *kwargs.values()]:
                assert_id_like(row.task_path, value, _allowed_strings())
        assert_no_canary("the database queue", _raw_rows(ready), c)
        seen.extend(ready)
        worker = Worker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="payloads",
            excluded_queue_names=[],
        )
        # The worker runs inside the test's transaction: its close_old_connections()
        # would close that connection on PostgreSQL (autocommit is off in it), which a
        # worker process of its own never meets.
        with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
            worker.run()

    drive_every_enqueue(c, django_capture_on_commit_callbacks, run=check_and_run)
    assert {row.task_path for row in seen} == set(CASES), "every task was enqueued"
    assert str(seen[0].args_kwargs["args"][0]).encode() in _raw_rows(seen)  # the search works
    rows = list(DBTaskResult.objects.all())
    assert len(rows) == len(seen)
    assert {r.status for r in rows} == {"SUCCESSFUL"}, [
        (r.task_path, r.status, r.exception_class_path) for r in rows
    ]
    for row in rows:
        assert_id_like(row.task_path, row.return_value, _allowed_results())
    assert_no_canary("the database queue after the worker ran", _raw_rows(rows), c)


def _raw_rows(rows) -> bytes:
    """Every column of the queue's rows, as text."""
    from django_tasks_db.models import DBTaskResult

    fields = DBTaskResult._meta.concrete_fields
    return json.dumps(
        [{f.attname: str(getattr(r, f.attname)) for f in fields} for r in rows]
    ).encode()


# RQ on Redis ------------------------------------------------------------------------
@pytest.fixture
def rq_redis(settings):
    import redis

    client = redis.Redis.from_url(RQ_URL)
    client.flushdb()
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": RQ_URL}}
    yield client
    client.flushdb()


def _unwrapped(raw: bytes) -> list[bytes]:
    """`raw` and what RQ wraps in it: zlib (a job's data and exc_info), base64 (a
    result's pickled return value) and zlib in base64 (a result's traceback)."""
    out = [raw]
    for step in (zlib.decompress, base64.b64decode):
        try:
            inner = step(raw) if step is zlib.decompress else step(raw, validate=True)
        except (zlib.error, binascii.Error, ValueError):
            continue
        if inner and inner != raw:
            out += _unwrapped(inner)
    return out


def redis_bytes(client) -> dict[str, bytes]:
    """Every key's stored bytes, with what RQ compresses or encodes in them unwrapped."""
    out = {}
    for key in client.scan_iter():
        name = key.decode()
        kind = client.type(key).decode()
        if kind == "string":
            parts = [client.get(key)]
        elif kind == "hash":
            parts = [p for k, v in client.hgetall(key).items() for p in (k, v)]
        elif kind == "list":
            parts = client.lrange(key, 0, -1)
        elif kind == "set":
            parts = list(client.smembers(key))
        elif kind == "zset":
            parts = [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":  # RQ's results
            parts = [p for _, entry in client.xrange(key) for kv in entry.items() for p in kv]
        else:
            pytest.fail(f"Redis key {name} is a {kind}: read it here")
        out[name] = b"\n".join([key, *(u for part in parts for u in _unwrapped(part))])
    return out


@pytest.mark.django_db
def test_rq_on_redis_holds_ids_only(rq_redis, settings, django_capture_on_commit_callbacks):
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    settings.AMAZON_LWA_TOKEN_URL = "https://127.0.0.1:1/auth/o2/token"
    settings.AMAZON_SPAPI_URLS = {region: "https://127.0.0.1:1" for region in ("NA", "EU", "FE")}
    settings.AMAZON_RETRY_ATTEMPTS = 1
    settings.AMAZON_CA_FILE = ""
    c = Canaries()
    queued: dict[str, tuple] = {}

    def check_and_run() -> None:
        """Check the jobs waiting on Redis and every byte stored there, then run them
        in this process (the backend's job class, as `rqworker --job-class` does)."""
        for key in rq_redis.scan_iter("rq:job:*"):
            job_id = key.decode().removeprefix("rq:job:")
            if ":" not in job_id and job_id not in queued:
                job = Job.fetch(job_id, connection=rq_redis)
                queued[job_id] = (job.func_name, list(job.args), dict(job.kwargs))
                for value in [*job.args, *job.kwargs.values()]:
                    assert_id_like(job.func_name, value, _allowed_strings())
        for key, raw in redis_bytes(rq_redis).items():
            assert_no_canary(f"Redis key {key}", raw, c)
        queue = django_rq.get_queue("default", job_class=Job)
        worker = SimpleWorker([queue], connection=rq_redis, job_class=Job)
        worker.work(burst=True, with_scheduler=False)

    drive_every_enqueue(c, django_capture_on_commit_callbacks, run=check_and_run)
    assert {path for path, _, _ in queued.values()} == set(CASES), "every task was enqueued"
    # After the runs: what each returned, the results RQ keeps (rq:results:*), the
    # finished registries.
    for job_id, (path, _, _) in queued.items():
        result = Job.fetch(job_id, connection=rq_redis).latest_result()
        assert result is not None and result.type == result.Type.SUCCESSFUL, (path, result)
        assert_id_like(path, result.return_value, _allowed_results())
    stored = redis_bytes(rq_redis)
    assert any(k.startswith("rq:results:") for k in stored), sorted(stored)
    for key, raw in stored.items():
        assert_no_canary(f"Redis key {key} after the worker ran", raw, c)
    # The search sees what is there: a claim token in a job's inflated data.
    claim = next(args[1] for path, args, _ in queued.values() if path.endswith("sync_connection"))
    assert any(claim.encode() in raw for raw in stored.values())


def test_the_search_finds_a_canary_passed_as_an_argument(settings, db):
    """The control: a task given content is caught by both checks."""
    import redis

    from cvrtracker.listings.tasks import derive_listing_changes

    c = Canaries()
    client = redis.Redis.from_url(RQ_URL)
    client.flushdb()
    try:
        settings.TASKS = {
            "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}
        }
        settings.RQ_QUEUES = {"default": {"URL": RQ_URL}}
        result = derive_listing_changes.enqueue(1, US, c.asins)  # what the sync passed before
        raw = b"".join(redis_bytes(client).values())
        with pytest.raises(AssertionError, match=c.asins[0]):
            assert_no_canary("Redis", raw, c)
        # Found in the job's pickled arguments too, which RQ stores compressed.
        data = client.hget(f"rq:job:{result.id}", "data")
        assert c.asins[0].encode() not in data
        assert any(c.asins[0].encode() in part for part in _unwrapped(data))
        # And in a result's traceback (zlib in base64), as RQ stores it.
        wrapped = base64.b64encode(zlib.compress(f"Error: {c.title}".encode()))
        assert any(c.title.encode() in part for part in _unwrapped(wrapped))
        with pytest.raises(pytest.fail.Exception):
            assert_id_like("derive_listing_changes", c.asins[0], _allowed_strings())
    finally:
        client.flushdb()
