"""impact_refresh on metrics stored by the real ingest path from a simulator world."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cvrtracker.accounts.models import Team
from cvrtracker.amazon.marketplaces import day_start
from cvrtracker.impact.models import ChangeImpact
from cvrtracker.impact.selectors import impact_for_changes
from cvrtracker.impact.services import impact_refresh
from cvrtracker.impact.types import NOT_ENOUGH_DATA
from cvrtracker.lib import clock
from cvrtracker.listings.changes import NewChange, listing_changes_store
from cvrtracker.listings.models import ListingChange
from cvrtracker.listings.tests.sim_metrics import store_history
from cvrtracker.metrics.tests.helpers import make_connection
from cvrtracker.simulator.world import World

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 30)
US = "ATVPDKIKX0DER"


@pytest.fixture
def world():
    return World(seed=8, sellers=1, asins=30, today=TODAY, marketplaces=1, change_rate=0)


@pytest.fixture
def connection():
    return make_connection(Team.objects.create(name="impact"))


def observed(connection, asin, field, on: date, key: str) -> NewChange:
    seen_at = day_start(US, on) + timedelta(hours=15)
    return NewChange(
        key=key,
        field=field,
        source=ListingChange.Source.OBSERVED,
        marketplace_id=US,
        day=on,
        seen_at=seen_at,
        seen_after=seen_at - timedelta(hours=1),
        payload={"action": "edited", "before": "old", "after": "new"},
        asin=asin,
    )


def refresh(connection, world):
    with clock.following(world.clock.now):
        return impact_refresh(connection=connection, marketplace_id=US)


def test_same_day_changes_share_one_impact_and_recomputing_replaces_it(connection, world):
    store_history(connection, world, start=TODAY - timedelta(days=120))
    products = world.sellers[0].products
    a, b = products[12].asin, products[13].asin
    on = TODAY - timedelta(days=40)
    listing_changes_store(
        connection=connection,
        changes=[
            observed(connection, a, "title", on, "t"),
            observed(connection, a, "main_image", on, "m"),
            observed(connection, b, "bullet", on - timedelta(days=5), "b"),
            # Not measured: derived stock events only bound windows.
            NewChange(
                key="s",
                field="stock_out",
                source=ListingChange.Source.DERIVED,
                marketplace_id=US,
                day=on + timedelta(days=30),
                seen_at=day_start(US, on + timedelta(days=31)),
                payload={"action": "out_of_stock"},
                asin=b,
            ),
        ],
    )
    result = refresh(connection, world)
    assert result.changes == 3
    changes = {c.key: c for c in ListingChange.objects.filter(connection=connection)}
    impacts = impact_for_changes(connection=connection, changes=changes.values())
    assert set(impacts) == {changes["t"].pk, changes["m"].pk, changes["b"].pk}
    assert impacts[changes["t"].pk] == impacts[changes["m"].pk]
    assert "Measured together" in impacts[changes["t"].pk].note
    title = impacts[changes["t"].pk]
    assert title.trend_adjusted and title.final
    assert title.before.end == on - timedelta(days=1)
    assert title.after.start == on + timedelta(days=1)
    # The last 3 days' traffic is pending: never used.
    assert title.as_of == TODAY - timedelta(days=4)
    assert 0.0 < result.kappa < 0.2
    # Encrypted at rest: the note is not in the row.
    row = ChangeImpact.objects.get(change=changes["t"])
    assert b"Conversion" not in bytes(row.payload_enc)
    again = refresh(connection, world)
    assert again.changes == 3
    assert ChangeImpact.objects.count() == 3


def test_a_marketplace_with_one_product_has_no_adjustment(connection, world):
    asin = world.sellers[0].products[12].asin
    store_history(connection, world, start=TODAY - timedelta(days=90), asins=[asin])
    listing_changes_store(
        connection=connection,
        changes=[observed(connection, asin, "title", TODAY - timedelta(days=30), "t")],
    )
    refresh(connection, world)
    stored = impact_for_changes(connection=connection, changes=ListingChange.objects.all())
    (impact,) = stored.values()
    assert impact.verdict == NOT_ENOUGH_DATA
    assert not impact.trend_adjusted
    assert "No adjustment" in impact.note


def test_changes_without_metrics_get_a_clear_answer(connection, world):
    listing_changes_store(
        connection=connection,
        changes=[observed(connection, "B000NOPE00", "title", TODAY - timedelta(days=3), "t")],
    )
    refresh(connection, world)
    impact = ChangeImpact.objects.get()
    assert impact.verdict == NOT_ENOUGH_DATA
    # With metrics for others but none for this ASIN.
    store_history(connection, world, start=TODAY - timedelta(days=60))
    refresh(connection, world)
    stored = impact_for_changes(connection=connection, changes=ListingChange.objects.all())
    (only,) = stored.values()
    assert only.verdict == NOT_ENOUGH_DATA and "no sessions or sales" in only.note


def test_nothing_to_measure_is_quick_and_empty(connection):
    result = impact_refresh(connection=connection, marketplace_id=US)
    assert result.changes == 0 and result.stored == {}
