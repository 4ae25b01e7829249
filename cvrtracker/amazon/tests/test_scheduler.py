"""The scheduler loop: each due item enqueued once even with two schedulers; SIGTERM stops it."""

import json
import signal
import time

import pytest
from django.utils import timezone

from cvrtracker.simulator.testing import running_simulator

from . import workers

MAKE_DUE = """
from django.utils import timezone
from cvrtracker.amazon.models import SalesTrafficDay, SellerConnection
from datetime import timedelta
c = SellerConnection.objects.get()
today = timezone.now().date()
SalesTrafficDay.objects.bulk_create([
    SalesTrafficDay(connection=c, marketplace_id="ATVPDKIKX0DER", day=today - timedelta(days=n),
                    status="requested", report_id=f"r{n}", requested_at=timezone.now(),
                    next_attempt_at=timezone.now())
    for n in range(1, 301)
])
"""

COUNT = """
import json
from django_tasks_db.models import DBTaskResult
rows = list(DBTaskResult.objects.values_list("task_path", "args_kwargs"))
print("COUNT" + json.dumps([[p, a["args"][0]] for p, a in rows]))
"""


@pytest.mark.slow
def test_two_schedulers_enqueue_each_due_item_once_and_stop_on_sigterm(tmp_path):
    with running_simulator(
        asins=5, quota="relaxed", today=timezone.now().date(), marketplaces=1
    ) as sim:
        database, drop = workers.database_url(tmp_path)
        env = workers.environment(tmp_path, sim, database, redis=False)
        env["AMAZON_JOB_LEASE_SECONDS"] = "600"  # no worker runs: no lease may run out
        try:
            workers.prepare(env)
            workers.manage(env, "shell", "-c", MAKE_DUE)
            log = tmp_path / "schedulers.log"
            schedulers = [workers.start(env, "scheduler", log=log) for _ in range(2)]
            time.sleep(6)  # both tick several times over the same due rows
            for scheduler in schedulers:
                scheduler.send_signal(signal.SIGTERM)
            for scheduler in schedulers:
                assert scheduler.wait(timeout=15) == 0  # a clean stop, not a kill
            assert log.read_text().count("scheduler stopped after") == 2
            rows = json.loads(workers.manage(env, "shell", "-c", COUNT).split("COUNT", 1)[1])
        finally:
            drop()
    steps = [pk for path, pk in rows if path.endswith("sales_traffic_step")]
    assert len(steps) == 300 and len(set(steps)) == 300  # each report polled once
    connections = [pk for path, pk in rows if path.endswith("sync_connection")]
    assert len(connections) == 1  # the new connection's first daily sync, once


def test_the_scheduler_sends_due_trial_reminders(transactional_db, mailbox):
    # transactional_db: the command closes old connections between ticks, which a
    # test wrapped in one transaction would not survive on PostgreSQL.
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from cvrtracker.accounts.models import Team
    from cvrtracker.test import make_user

    owner = make_user("trialist@example.org")
    # 12 days into the 14-day trial: its reminder is due.
    Team.objects.filter(pk=owner.membership.team.pk).update(
        created_at=timezone.now() - timedelta(days=12)
    )
    call_command("scheduler", "--once")
    call_command("scheduler", "--once")
    assert len(mailbox.to("trialist@example.org")) == 1
