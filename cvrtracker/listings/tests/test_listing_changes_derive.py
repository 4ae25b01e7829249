"""listing_changes_derive against the simulator's world: its scripted stories, found on
their days, nothing else, and the stored set kept equal to the metrics as they are restated."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cvrtracker.amazon.marketplaces import day_start
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.listings.changes import NewChange, listing_change_payload, listing_changes_store
from cvrtracker.listings.inference import listing_changes_derive
from cvrtracker.listings.models import Listing, ListingChange, ListingSnapshot
from cvrtracker.listings.services import inventory_upsert_fba
from cvrtracker.metrics.datakiosk import TrendRow
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.report import AsinRow, Money
from cvrtracker.metrics.services import metrics_merge_asin_days
from cvrtracker.simulator.testing import TEST_TODAY
from cvrtracker.simulator.world import US, World
from cvrtracker.test import BaseTestCase

from .helpers import make_connection
from .sim_metrics import store_history

DAY0 = TEST_TODAY


def world(seed: int = 1, asins: int = 12) -> World:
    return World(seed=seed, asins=asins, today=DAY0, marketplaces=1)


class DeriveTestCase(BaseTestCase):
    def setUp(self):
        self.connection = make_connection(self.team, "A1DERIVED")
        self.keys = ConnectionKeys(self.connection)

    def connected_at(self, moment: datetime) -> None:
        SellerConnection.objects.filter(pk=self.connection.pk).update(created_at=moment)
        self.connection.refresh_from_db()

    def derive(self, **kwargs):
        return listing_changes_derive(connection=self.connection, marketplace_id=US.id, **kwargs)

    def events(self) -> list[tuple]:
        """(asin, field, source, day, action) of every stored row, in order."""
        rows = ListingChange.objects.filter(connection=self.connection).order_by("asin", "day")
        return [
            (
                r.asin,
                r.field,
                r.source,
                r.day,
                listing_change_payload(change=r, keys=self.keys)["action"],
            )
            for r in rows
        ]


def first_sale(w: World, product, day: date) -> date:
    """The first day from `day` on with a sale, as Amazon shows it today: a price is
    seen in the sales only on a day that sells."""
    as_of = w.today(US)
    while not w.day_stats(w.sellers[0], product, day, US, as_of).units:
        day += timedelta(days=1)
    return day


def truth(w: World) -> set[tuple]:
    """What the simulator changed that the metrics can show, as events()."""
    expected = set()
    seller = w.sellers[0]
    for p in seller.products:
        for c in p.changes:
            day = US.day_of(c.at)
            if c.field == "price":
                expected.add((p.asin, "price", "inferred", first_sale(w, p, day), "changed"))
            elif c.field == "quantity":
                action = "out_of_stock" if c.value == 0 else "back_in_stock"
                expected.add((p.asin, "stock_out", "derived", day, action))
            elif c.field == "buy_box":
                action = "lost" if c.value == "LOST" else "won_back"
                expected.add((p.asin, "buy_box", "derived", day, action))
    return expected


class SimulatorStoriesTests(DeriveTestCase):
    def test_the_scripted_stories_appear_on_their_days_and_nothing_else(self):
        w = world()
        self.connected_at(w.clock.now())
        store_history(self.connection, w)
        products = w.sellers[0].products
        # Product 3 is tracked (a listing with its first snapshot today); the others are not.
        listing = Listing.objects.create(
            connection=self.connection,
            marketplace_id=US.id,
            sku=products[3].sku,
            asin=products[3].asin,
            content_enc=b"",
        )
        ListingSnapshot.objects.create(
            listing=listing, sync_id="s1", taken_at=w.clock.now(), content_enc=b"", digest="d"
        )
        result = self.derive()
        assert result.asins == 12
        p3, p4, p5 = products[3].asin, products[4].asin, products[5].asin
        # The cut shows in the sales from its first day with a sale.
        cut = first_sale(w, products[3], DAY0 - timedelta(days=40))
        assert (
            set(self.events())
            == truth(w)
            == {
                (p3, "price", "inferred", cut, "changed"),
                (p4, "stock_out", "derived", DAY0 - timedelta(days=25), "out_of_stock"),
                (p4, "stock_out", "derived", DAY0 - timedelta(days=15), "back_in_stock"),
                (p5, "buy_box", "derived", DAY0 - timedelta(days=12), "lost"),
                (p5, "buy_box", "derived", DAY0 - timedelta(days=5), "won_back"),
            }
        )
        assert result.added == 5

        price = ListingChange.objects.get(field="price")
        assert price.listing == listing and price.sku == listing.sku
        assert price.key == f"inf:price:{US.id}:{p3}:{cut}"
        assert price.seen_at == day_start(US.id, cut + timedelta(days=1))
        assert price.seen_after < price.seen_at - timedelta(days=1)  # a selling day before
        payload = listing_change_payload(change=price, keys=self.keys)
        old = products[3].launch_price_cents
        new = products[3].changes[0].value
        assert payload == {
            "action": "changed",
            "before": {"amount": f"{old / 100:.2f}", "currency": "USD"},
            "after": {"amount": f"{new / 100:.2f}", "currency": "USD"},
            "pct": round((new / old - 1) * 100, 2),
        }
        lost = ListingChange.objects.get(field="buy_box", day=DAY0 - timedelta(days=12))
        assert lost.key == f"der:buy_box:{US.id}:{p5}:{lost.day}:lost"
        assert lost.listing is None and lost.sku == ""
        assert listing_change_payload(change=lost, keys=self.keys) == {
            "action": "lost",
            "before": 100.0,
            "after": 15.0,
            "threshold": 50.0,
        }
        assert (lost.seen_after, lost.seen_at) == (
            day_start(US.id, lost.day - timedelta(days=1)),
            day_start(US.id, lost.day + timedelta(days=1)),
        )
        out = ListingChange.objects.get(field="stock_out", day=DAY0 - timedelta(days=25))
        assert listing_change_payload(change=out, keys=self.keys)["evidence"] == "buy_box"

    @pytest.mark.slow
    def test_every_price_stock_and_buy_box_change_of_several_worlds_is_found_and_nothing_else(
        self,
    ):
        for seed in (2, 3, 4):
            ListingChange.objects.all().delete()
            connection = make_connection(self.team, f"A{seed}SEEDS")
            self.connection, self.keys = connection, ConnectionKeys(connection)
            w = world(seed, asins=60)
            self.connected_at(w.clock.now())
            store_history(connection, w)
            self.derive()
            assert set(self.events()) == truth(w), seed

    def test_running_it_again_changes_nothing(self):
        w = world(asins=6)
        self.connected_at(w.clock.now())
        store_history(self.connection, w)
        self.derive()
        before = list(
            ListingChange.objects.order_by("pk").values_list("code", "key", "payload_enc")
        )
        again = self.derive()
        assert (again.added, again.updated, again.removed) == (0, 0, 0)
        after = list(ListingChange.objects.order_by("pk").values_list("code", "key", "payload_enc"))
        assert after == before and len(before) == 5


class TrackingCutoffTests(DeriveTestCase):
    def test_inferred_changes_stop_where_tracking_began(self):
        w = world(asins=6)
        product = w.sellers[0].products[3]
        store_history(self.connection, w, asins=[product.asin])
        # Connected after the price cut: it is inferred.
        self.connected_at(w.clock.now())
        self.derive()
        assert [e[1] for e in self.events()] == ["price"]
        # The product's first snapshot was taken before the cut: the snapshots saw it,
        # so the inferred change goes.
        listing = Listing.objects.create(
            connection=self.connection,
            marketplace_id=US.id,
            sku=product.sku,
            asin=product.asin,
            content_enc=b"",
        )
        ListingSnapshot.objects.create(
            listing=listing,
            sync_id="s0",
            taken_at=w.clock.now() - timedelta(days=60),
            content_enc=b"",
            digest="d",
        )
        result = self.derive()
        assert self.events() == [] and result.removed == 1

    def test_without_a_snapshot_the_connection_day_is_the_cutoff(self):
        w = world(asins=6)
        product = w.sellers[0].products[3]
        store_history(self.connection, w, asins=[product.asin])
        self.connected_at(datetime.combine(DAY0 - timedelta(days=40), datetime.min.time(), UTC))
        self.derive()
        assert self.events() == []  # the cut is on the connection's day: observed, not inferred


class RestatementTests(DeriveTestCase):
    """Amazon restates units for 30 days and traffic arrives 3 days late."""

    def store(self, rows: dict[date, tuple[int, int, float]], asin: str = "B0TESTASIN") -> None:
        """(units, page views, buy box %) per day; 20 days of normal sales before."""
        start = min(rows) - timedelta(days=20)
        end = max(rows)
        trend = []
        day = start
        while day <= end:
            units, views, box = rows.get(day, (4, 40, 100.0))
            trend.append(
                TrendRow(
                    day,
                    AsinRow(
                        parent_asin=asin,
                        child_asin=asin,
                        sku=None,
                        sessions=views,
                        page_views=views,
                        units_ordered=units,
                        total_order_items=units,
                        ordered_product_sales=Money(units * 1999, "USD"),
                        buy_box_percentage=box,
                        unit_session_percentage=100 * units / views if views else 0.0,
                    ),
                )
            )
            day += timedelta(days=1)
        metrics_merge_asin_days(
            connection=self.connection,
            marketplace_id=US.id,
            asins=[asin],
            start=start,
            end=end,
            rows=trend,
            currency="USD",
        )

    def test_a_restated_stock_out_is_removed_and_a_moved_value_updated(self):
        first = date(2026, 9, 1)
        out = {first + timedelta(days=i): (0, 40, 0.0) for i in range(4)}
        back = {first + timedelta(days=4): (6, 40, 100.0)}
        self.store({**out, **back})
        self.derive()
        assert [e[4] for e in self.events()] == ["out_of_stock", "back_in_stock"]
        back_row = ListingChange.objects.get(key__endswith="back_in_stock")
        # The first day back is restated (a cancellation): same event, new value.
        self.store({**out, first + timedelta(days=4): (5, 40, 100.0)})
        result = self.derive()
        assert (result.added, result.updated, result.removed) == (0, 1, 0)
        back_row.refresh_from_db()  # kept, with its code
        assert listing_change_payload(change=back_row, keys=self.keys)["after"] == 5
        # Amazon's later answer has sales on those days after all: no stock-out any more.
        self.store({first + timedelta(days=i): (3, 40, 100.0) for i in range(5)})
        result = self.derive()
        assert self.events() == [] and result.removed == 2

    def test_a_stock_out_still_going_on_needs_the_current_inventory(self):
        first = date(2026, 11, 20)
        # The last three days are pending: sales known, traffic not yet.
        pending = {first + timedelta(days=i): (0, 0, 0.0) for i in range(3)}
        self.store(pending, asin="B0PENDING1")
        self.derive()
        assert self.events() == []
        inventory_upsert_fba(
            connection=self.connection,
            marketplace_id=US.id,
            summaries=[
                {
                    "sellerSku": "SKU-P1",
                    "asin": "B0PENDING1",
                    "inventoryDetails": {"fulfillableQuantity": 0},
                }
            ],
        )
        self.derive()
        assert self.events() == [
            ("B0PENDING1", "stock_out", "derived", first, "out_of_stock"),
        ]
        row = ListingChange.objects.get()
        assert listing_change_payload(change=row, keys=self.keys)["evidence"] == "inventory"
        # Stock arrives: the inventory no longer confirms it, the event goes.
        inventory_upsert_fba(
            connection=self.connection,
            marketplace_id=US.id,
            summaries=[
                {
                    "sellerSku": "SKU-P1",
                    "asin": "B0PENDING1",
                    "inventoryDetails": {"fulfillableQuantity": 12},
                }
            ],
        )
        self.derive()
        assert self.events() == []

    def test_traffic_arriving_late_dates_the_lost_buy_box(self):
        w = world(asins=6)
        product = w.sellers[0].products[5]
        self.connected_at(w.clock.now())
        lost = DAY0 - timedelta(days=12)
        # Read two days after the loss: both days' traffic is still pending.
        store_history(
            self.connection,
            w,
            asins=[product.asin],
            as_of=lost + timedelta(days=2),
            start=lost - timedelta(days=60),
        )
        self.derive(asins=[product.asin])
        assert self.events() == []
        # Five days after: two settled days below the threshold.
        store_history(
            self.connection,
            w,
            asins=[product.asin],
            as_of=lost + timedelta(days=6),
            start=lost - timedelta(days=60),
        )
        self.derive(asins=[product.asin])
        assert self.events() == [(product.asin, "buy_box", "derived", lost, "lost")]

    def test_events_of_an_asin_without_metrics_any_more_are_removed(self):
        self.store({date(2026, 9, 1): (4, 40, 100.0)})
        listing_changes_store(
            connection=self.connection,
            changes=[
                NewChange(
                    key=f"der:buy_box:{US.id}:B0GONE0001:2026-08-01:lost",
                    field=ListingChange.Field.BUY_BOX,
                    source=ListingChange.Source.DERIVED,
                    marketplace_id=US.id,
                    day=date(2026, 8, 1),
                    seen_at=day_start(US.id, date(2026, 8, 2)),
                    payload={"action": "lost", "before": 100.0, "after": 10.0},
                    asin="B0GONE0001",
                )
            ],
        )
        assert self.derive(asins=["B0TESTASIN"]).removed == 0  # not asked about
        assert self.derive().removed == 1
        assert not ListingChange.objects.exists()
