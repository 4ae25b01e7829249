"""A real worker SIGKILLed mid-delivery: the delivery is neither lost nor sent twice."""

import base64
import json
import os
import secrets
import time

import pytest

from cvrtracker.alerts.tests.helpers import Receiver
from cvrtracker.amazon.tests import workers

pytestmark = pytest.mark.slow

SETUP = """
import json
from django.db import transaction
from django.utils import timezone
from cvrtracker.accounts.models import Membership, Team, User
from cvrtracker.alerts.channels import alert_channel_create
from cvrtracker.alerts.delivery import deliveries_create
from cvrtracker.alerts.tests.helpers import make_alert, make_connection, make_rule
now = timezone.now()
user = User.objects.create_user("owner@example.org", "pw-unused-123456", name="Owner",
    email_verified_at=now, age_confirmed_at=now, privacy_policy_version="t",
    privacy_policy_accepted_at=now)
team = Team.objects.create(name="Team")
Membership.objects.create(user=user, team=team, role=Membership.Role.OWNER)
channel = alert_channel_create(user=user, kind="webhook", name="Hook", target=URL)
with transaction.atomic():
    alert = make_alert(make_rule(team, channel), make_connection(team))
    [d] = deliveries_create(alert=alert)
print("SETUP" + json.dumps({"code": str(d.code)}))
"""

DUMP = """
import json
from cvrtracker.alerts.models import Delivery
print("DUMP" + json.dumps([[str(d.code), d.status, d.attempts] for d in Delivery.objects.all()]))
"""


def environment(tmp_path, database: str) -> dict:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": database,
        "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "ALERTS_DELIVERY_LEASE_SECONDS": "3",
        "ALERTS_SWEEP_DELAY_SECONDS": "0.5",
        "ALERTS_RETRY_BASE_SECONDS": "0.2",
    }
    env.pop("REDIS_URL", None)
    return env


def test_a_worker_killed_mid_delivery_neither_loses_nor_duplicates_it(tmp_path):
    database, drop = workers.database_url(tmp_path)
    env = environment(tmp_path, database)
    log = tmp_path / "processes.log"
    processes = []
    # The receiver holds the first request without answering: the worker is inside
    # the send when it is killed.
    with Receiver(hang=20) as receiver:
        try:
            workers.manage(env, "migrate", "-v0")
            out = workers.manage(env, "shell", "-c", f"URL = {receiver.url!r}\n" + SETUP)
            code = json.loads(out.split("SETUP", 1)[1])["code"]
            first = workers.start(env, *workers.worker_argv(env), log=log)
            processes.append(first)
            assert receiver.hanging.wait(60), log.read_text(errors="replace")[-2000:]
            workers.kill(first)  # SIGKILL, mid-send
            processes.append(workers.start(env, "alerts_sweep", "--interval", "0.3", log=log))
            processes.append(workers.start(env, *workers.worker_argv(env), log=log))
            deadline = time.monotonic() + 60
            while not receiver.requests:
                assert time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
                time.sleep(0.1)
            time.sleep(1.5)  # room for a duplicate to show up, if any would
            state = json.loads(workers.manage(env, "shell", "-c", DUMP).split("DUMP", 1)[1])
        finally:
            for process in processes:
                workers.kill(process)
            drop()
    assert [r["headers"]["X-CVR-Delivery"] for r in receiver.requests] == [code]
    assert state == [[code, "sent", 2]]
