"""The impact tasks and the sync's hooks into them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from cvrtracker.accounts.models import Team
from cvrtracker.amazon.marketplaces import day_start
from cvrtracker.amazon.sync.catalog import _measure_new_changes
from cvrtracker.impact.models import ChangeImpact
from cvrtracker.impact.selectors import impact_for_changes
from cvrtracker.impact.tasks import derive_and_measure, refresh_impacts
from cvrtracker.lib import clock
from cvrtracker.listings.changes import NewChange, listing_changes_store
from cvrtracker.listings.models import ListingChange
from cvrtracker.listings.tests.sim_metrics import store_history
from cvrtracker.metrics.tests.helpers import make_connection
from cvrtracker.simulator.world import World

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 30)
US = "ATVPDKIKX0DER"
IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def world():
    return World(seed=4, sellers=1, asins=25, today=TODAY, marketplaces=1, change_rate=0)


@pytest.fixture
def connection():
    return make_connection(Team.objects.create(name="tasks"))


def title_change(asin: str, on: date, key: str = "t") -> NewChange:
    seen_at = day_start(US, on) + timedelta(hours=14)
    return NewChange(
        key=key,
        field="title",
        source=ListingChange.Source.OBSERVED,
        marketplace_id=US,
        day=on,
        seen_at=seen_at,
        seen_after=seen_at - timedelta(hours=1),
        payload={"action": "edited", "before": "a", "after": "b"},
        asin=asin,
    )


def test_a_gone_connection_is_skipped():
    assert refresh_impacts.call(987654, US) == -1
    assert derive_and_measure.call(987654, US) == -1


def test_derivation_comes_first_so_a_stock_out_bounds_the_window(connection, world):
    # Scripted product #4 runs out of FBA stock on day -25 (back on -15): a title change
    # on day -35 is measured up to the day before the derived stock-out.
    store_history(connection, world, start=TODAY - timedelta(days=120))
    product = world.sellers[0].products[4]
    listing_changes_store(
        connection=connection, changes=[title_change(product.asin, TODAY - timedelta(days=35))]
    )
    with clock.following(world.clock.now):
        stored = derive_and_measure.call(connection.pk, US)
    # The title change, and the scripted price cut of product #3 inferred from the sales.
    assert stored == 2
    assert ListingChange.objects.filter(source="inferred", field="price").count() == 1
    stock_out = ListingChange.objects.filter(field="stock_out", asin=product.asin).earliest("day")
    change = ListingChange.objects.get(field="title")
    impact = impact_for_changes(connection=connection, changes=[change])[change.pk]
    assert impact.shortened
    assert impact.after.end < stock_out.day
    assert "stock-out" in impact.note


def test_a_sweep_that_stores_a_new_change_measures_it_at_once(
    connection, world, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = IMMEDIATE
    store_history(connection, world, start=TODAY - timedelta(days=60))
    product = world.sellers[0].products[15]
    since = timezone.now()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _measure_new_changes(connection, US, since=since)
    assert not callbacks
    listing_changes_store(
        connection=connection, changes=[title_change(product.asin, TODAY - timedelta(days=1))]
    )
    with (
        clock.following(world.clock.now),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        _measure_new_changes(connection, US, since=since)
    assert len(callbacks) == 1
    impact = ChangeImpact.objects.get()
    assert impact.verdict == "not_enough_data"
    (shown,) = impact_for_changes(
        connection=connection, changes=ListingChange.objects.all()
    ).values()
    assert shown.ready_on is not None and "verdict on" in shown.note


def test_the_derivation_reads_the_asins_of_the_query_it_is_given(connection, monkeypatch):
    # The sync enqueues a Data Kiosk chunk's id, never its ASINs (issue 15).
    from unittest import mock

    from cvrtracker.amazon.models import DataKioskQuery
    from cvrtracker.impact import tasks

    derive = mock.MagicMock()
    monkeypatch.setattr(tasks, "listing_changes_derive", derive)
    chunk = DataKioskQuery.objects.create(
        connection=connection, marketplace_id=US, kind="trends", asins=["B0AAAAAAA1"],
        chunk_key="k", start_day=TODAY, end_day=TODAY,
    )  # fmt: skip
    derive_and_measure.call(connection.pk, US, chunk.pk)
    derive_and_measure.call(connection.pk, US)
    assert [c.kwargs["asins"] for c in derive.call_args_list] == [["B0AAAAAAA1"], None]
