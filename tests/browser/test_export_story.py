"""An owner exports her data: on Settings → Privacy she clicks "Export my data", the
panel shows the build's progress and polls until the worker has finished, then offers
the ZIP, which downloads with her store's metrics inside."""

import io
import json
import zipfile

import pytest

from cvrtracker.api.tests.helpers import connect_with_metrics
from cvrtracker.privacy.export import data_export_build
from cvrtracker.privacy.models import DataExport
from cvrtracker.test import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_exports_her_data(page, exports_dir):
    owner = make_user("olivia@example.org")
    connect_with_metrics(
        owner.membership.team, owner, seller_id="A1OLIVIA", store_name="Olivia Home"
    )

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/**")

    page.goto("/settings/privacy/")
    page.get_by_role("button", name="Export my data").click()
    # Waiting for the worker: the panel shows its progress and polls.
    page.locator("#export-panel progress").wait_for()
    assert page.locator('#export-panel[hx-trigger="every 2s"]').count() == 1

    data_export_build(export=DataExport.objects.get(requested_by=owner))
    link = page.get_by_role("link", name="Download")
    link.wait_for(timeout=8_000)
    assert page.locator("#export-panel progress").count() == 0

    with page.expect_download() as download:
        link.click()
    page.wait_for_load_state("networkidle")
    archive = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
    days = json.loads(archive.read("metrics/daily.json"))
    stores = json.loads(archive.read("amazon/seller_accounts.json"))
    assert [s["store_name"] for s in stores] == ["Olivia Home"]
    assert any(d["granularity"] == "account" and d["units_ordered"] > 0 for d in days)
