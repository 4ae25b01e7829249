"""Issue 12's "done when", in the browser: a seller whose account was synced from the
simulator exports her data and finds her store's metrics in the ZIP; disconnects Amazon
and sees the data gone, with zero further calls at the simulator; deletes her account,
cannot log in any more, and after the purge (grace 0) no row of hers or of her team
remains in any table."""

import io
import json
import time
import zipfile

import pytest
from django.apps import apps
from django.db import models

from cvrtracker.accounts.models import Team, User
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.sync.scheduler import schedule_due
from cvrtracker.amazon.tests.conftest import synced_simulator
from cvrtracker.amazon.tests.helpers import (
    all_jobs_succeeded,
    all_reports_finished,
    connect_seller,
    counters,
    listed_in,
)
from cvrtracker.privacy.models import ConnectionDeletion, DataExport
from cvrtracker.privacy.retention import retention_run
from cvrtracker.test import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# Kept on purpose after an account is deleted (README, "Delete your account").
KEPT = {"billing.BillingRecord", "privacy.AnonymousCounter"}


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def calls(sim, seller_id: str) -> int:
    return sum(op.get("calls", 0) for op in counters(sim, seller_id).values())


def traces_of(user_id: int, team_id: int, words: list[str]) -> list[str]:
    """Every row of every table that still points at the user or team, or holds one of
    `words` (email, name, team name) in a text column."""
    found = []
    for model in apps.get_models():
        label = model._meta.label
        if label in KEPT:
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model in (User, Team):
                target = user_id if field.related_model is User else team_id
                if model._meta.default_manager.filter(**{field.attname: target}).exists():
                    found.append(f"{label}.{field.name}")
            elif isinstance(field, models.CharField | models.TextField | models.JSONField):
                for word in words:
                    lookup = {f"{field.attname}__icontains": word}
                    try:
                        hit = model._meta.default_manager.filter(**lookup).exists()
                    except Exception:  # noqa: BLE001 - a JSON column SQLite cannot search
                        hit = False
                    if hit:
                        found.append(f"{label}.{field.name} holds {word!r}")
    return found


def test_export_disconnect_and_delete(page, settings, exports_dir):
    settings.ACCOUNT_DELETION_GRACE_DAYS = 0
    settings.LISTINGS_DISCOVERY_MINUTES = 0
    with synced_simulator(settings) as sim:
        seller = make_user("priya@example.org")
        team = seller.membership.team
        team.name = "Priya Kitchen Goods"
        team.save()
        connection = connect_seller(sim, team=team, user=seller)
        listed_in(connection, "ATVPDKIKX0DER")
        seller_id = connection.selling_partner_id
        # The scheduler's ticks until every report and job is done (tasks run inline,
        # at each commit: this test's transactions are real).
        deadline = time.monotonic() + 120
        while not (all_reports_finished() and all_jobs_succeeded()):
            assert time.monotonic() < deadline, "the sync did not finish"
            schedule_due()
            time.sleep(0.05)

        # 1. Export: the ZIP holds her store's metrics (tasks run inline here).
        log_in(page, seller.email)
        page.wait_for_url("**/dashboard/**")
        page.goto("/settings/privacy/")
        page.get_by_role("button", name="Export my data").click()
        link = page.get_by_role("link", name="Download")
        link.wait_for(timeout=15_000)
        with page.expect_download() as download:
            link.click()
        archive = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
        days = json.loads(archive.read("metrics/daily.json"))
        assert any((d.get("units_ordered") or 0) > 0 for d in days)
        assert json.loads(archive.read("listings/listings.json"))
        assert DataExport.objects.filter(requested_by=seller).count() == 1

        # 2. Disconnect: the data goes, and the simulator sees no further call.
        page.goto("/amazon/")
        page.get_by_role("button", name="Disconnect…").click()
        before = calls(sim, seller_id)
        page.get_by_role("button", name="Disconnect").click()
        # The test reads the database below: let the page's own requests finish first
        # (the live server and this thread share one in-memory SQLite database).
        page.wait_for_load_state("networkidle")
        assert not SellerConnection.objects.filter(selling_partner_id=seller_id).exists()
        receipt = ConnectionDeletion.objects.get(team=team)
        assert receipt.purged_at is not None and receipt.counts.get("listings", 0) > 0
        assert schedule_due() == 0
        assert calls(sim, seller_id) == before
        page.goto("/settings/privacy/")
        page.get_by_text("Disconnected by your team").first.wait_for()
        page.wait_for_load_state("networkidle")
        assert page.request.get(f"/amazon/{connection.code}/products/").status == 404
        assert not DataExport.objects.filter(team=team).exists()

    # 3. Delete the account: log-in refused at once, nothing left after the purge.
    page.goto("/settings/privacy/delete-account/")
    page.get_by_label("Your current password").fill(PASSWORD)
    page.get_by_label("Type your email address to confirm").fill(seller.email)
    page.get_by_role("button", name="Delete my account").click()
    page.wait_for_url("**/account-deleted/")
    log_in(page, seller.email)
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/" in page.url
    retention_run()
    assert not User.objects.filter(pk=seller.pk).exists()
    assert traces_of(seller.pk, team.pk, [seller.email, seller.name, team.name]) == []
