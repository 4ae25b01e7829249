"""Shortcuts past the consent page for tests that need a connected seller."""

from __future__ import annotations

from cvrtracker.accounts.models import Team, User
from cvrtracker.amazon.client import TokenGrant
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import connection_connect
from cvrtracker.simulator.testing import SimClient


def connect_seller(sim, *, team: Team, user: User, seller: int = 0) -> SellerConnection:
    """Connect the simulator's seller number `seller` to `team`, with a real refresh token."""
    seller_id = sim.world.sellers[seller].id
    refresh_token = SimClient(sim).refresh_token(seller_id)
    grant = TokenGrant(access_token="", expires_in=0, refresh_token=refresh_token)
    connection = connection_connect(
        team=team, user=user, region="NA", selling_partner_id=seller_id, grant=grant
    )
    # No access token yet: the first call fetches one through LWA.
    connection.access_token_enc = None
    connection.access_token_expires_at = None
    connection.save()
    return connection


def counters(sim, seller_id: str) -> dict:
    """Calls the simulator counted for a seller: {operation: {"calls": n, outcome: n}}."""
    answer = SimClient(sim).get("/_sim/counters", params={"sellerId": seller_id}).json()
    return answer.get(seller_id, {})


def confirm_consent(sim, consent_url: str, *, seller: int = 0) -> str:
    """Click Confirm on the simulator's consent page; returns the callback path and query."""
    import re
    from urllib.parse import urlsplit

    sim_client = SimClient(sim)
    page = sim_client.get(consent_url)
    assert page.status == 200, page.body
    token = re.search(rb"name='consent_token' value='([^']+)'", page.body)
    assert token, page.body
    answer = sim_client.post(
        "/apps/authorize/consent",
        form={
            "consent_token": token.group(1).decode(),
            "selling_partner_id": sim.world.sellers[seller].id,
            "decision": "confirm",
        },
    )
    assert answer.status == 302, answer.body
    location = urlsplit(answer.headers["Location"])
    return f"{location.path}?{location.query}"


def drain(testcase, until, *, timeout: float = 60.0) -> None:
    """Run scheduler ticks (tasks execute inline on commit) until `until()` holds."""
    import time

    from cvrtracker.amazon.sync.scheduler import schedule_due

    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            from cvrtracker.amazon.models import SalesTrafficDay, SyncJob

            rows = list(SalesTrafficDay.objects.values_list("kind", "status", "last_error"))
            jobs = list(SyncJob.objects.values_list("kind", "last_success_at", "last_error"))
            raise AssertionError(f"the sync did not finish in time: {rows} {jobs}")
        with testcase.captureOnCommitCallbacks(execute=True):
            schedule_due()
        time.sleep(0.05)


def all_reports_finished() -> bool:
    from cvrtracker.amazon.models import SalesTrafficDay

    # given_up: a marketplace that refused the report (e.g. Brazil, listed as
    # participating but never opened, before the listings run knew).
    rows = SalesTrafficDay.objects.all()
    return rows.exists() and not rows.exclude(status__in=["done", "cancelled", "given_up"]).exists()


def all_jobs_succeeded() -> bool:
    from cvrtracker.amazon.models import SyncJob

    jobs = SyncJob.objects.all()
    return jobs.count() == 3 and not jobs.filter(last_success_at=None).exists()


def run_until_done(job, *, timeout: float = 60.0) -> int:
    """sync_job_run again after every JobPaused (a report being made, a slice of pages),
    as the scheduler would; returns the items stored over all the calls."""
    import time

    from cvrtracker.amazon.models import SyncJob
    from cvrtracker.amazon.sync.jobs import sync_job_run
    from cvrtracker.amazon.sync.schedule import JobPaused

    deadline = time.monotonic() + timeout
    total = 0
    while True:
        job = SyncJob.objects.select_related("connection").get(pk=job.pk)
        try:
            return total + sync_job_run(job=job)
        except JobPaused as paused:
            if time.monotonic() > deadline:
                raise AssertionError(f"the {job.kind} job did not finish: {job.cursor}") from None
            time.sleep(min(paused.retry_after, 0.2))


def sales_traffic_reports(sim, seller_id: str) -> int:
    """How many Sales & Traffic reports the simulator accepted for a seller (listings runs
    ask for merchant listings reports through the same createReport)."""
    from cvrtracker.simulator.reports import SALES_AND_TRAFFIC

    return sum(
        1 for r in sim.sim.reports.for_seller(seller_id) if r.report_type == SALES_AND_TRAFFIC
    )


def listed_in(connection, *listed: str) -> None:
    """The connection's marketplaces as a listings run leaves them: something listed in
    `listed`, nothing elsewhere (Brazil and Non-Amazon are participations only)."""
    from cvrtracker.amazon.models import LISTED
    from cvrtracker.amazon.services import connection_sync_marketplaces

    connection_sync_marketplaces(connection=connection)
    connection.marketplaces = [
        {**m, LISTED: 5 if m["id"] in listed else 0} for m in connection.marketplaces
    ]
    connection.save(update_fields=["marketplaces"])


def only_report_steps(connection, *listed: str) -> None:
    """listed_in, with no daily sync due: only the report rows planned by the test run."""
    from datetime import timedelta

    from django.utils import timezone

    from cvrtracker.amazon.sync.sales_traffic import sales_traffic_plan

    listed_in(connection, *listed)
    connection.next_sync_at = timezone.now() + timedelta(days=1)
    connection.save(update_fields=["next_sync_at"])
    sales_traffic_plan(connection=connection)
