"""inventory_upsert_fba: getInventorySummaries pages, quantities encrypted."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest

from cvrtracker.lib import clock
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.changes import listing_change_payload
from cvrtracker.listings.models import InventoryLevel, Listing, ListingChange
from cvrtracker.listings.services import inventory_quantities, inventory_upsert_fba
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.tests.helpers import MARKET, make_connection, raw_table_bytes, sim_payloads
from cvrtracker.test import BaseTestCase


class InventoryUpsertFbaTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        self.summaries = sim_payloads()["inventory"]

    def upsert(self, summaries=None) -> int:
        return inventory_upsert_fba(
            connection=self.connection, marketplace_id=MARKET, summaries=summaries or self.summaries
        )

    def test_it_stores_each_skus_details(self):
        assert self.upsert() == len(self.summaries) > 0
        for summary in self.summaries:
            level = InventoryLevel.objects.get(sku=summary["sellerSku"])
            assert level.asin == summary["asin"]
            fba = inventory_quantities(connection=self.connection, level=level)["fba"]
            details = summary["inventoryDetails"]
            assert fba["fulfillable"] == details["fulfillableQuantity"]
            assert fba["inbound_working"] == details["inboundWorkingQuantity"]
            assert fba["reserved"] == details["reservedQuantity"]["totalReservedQuantity"]
            unfulfillable = details["unfulfillableQuantity"]["totalUnfulfillableQuantity"]
            assert fba["unfulfillable"] == unfulfillable
            assert fba["total"] == summary["totalQuantity"]

    def test_a_second_page_updates_in_place(self):
        self.upsert()
        ids = sorted(InventoryLevel.objects.values_list("id", flat=True))
        changed = copy.deepcopy(self.summaries)
        changed[0]["inventoryDetails"]["fulfillableQuantity"] = 31337
        self.upsert(changed)
        assert sorted(InventoryLevel.objects.values_list("id", flat=True)) == ids
        level = InventoryLevel.objects.get(sku=changed[0]["sellerSku"])
        assert (
            inventory_quantities(connection=self.connection, level=level)["fba"]["fulfillable"]
            == 31337
        )

    def test_quantities_are_encrypted_and_shreddable(self):
        summaries = copy.deepcopy(self.summaries)
        summaries[0]["inventoryDetails"]["fulfillableQuantity"] = 8675309
        self.upsert(summaries)
        assert b"8675309" not in raw_table_bytes("listings_inventorylevel")
        level = InventoryLevel.objects.get(sku=summaries[0]["sellerSku"])
        self.connection.wrapped_data_key = None
        self.connection.save()
        with pytest.raises(DecryptionError):
            inventory_quantities(connection=self.connection, level=level)

    def test_a_ciphertext_moved_to_another_sku_fails_to_decrypt(self):
        self.upsert()
        first, second = InventoryLevel.objects.order_by("sku")[:2]
        InventoryLevel.objects.filter(pk=second.pk).update(fba_enc=first.fba_enc)
        second.refresh_from_db()
        with pytest.raises(DecryptionError):
            inventory_quantities(connection=self.connection, level=second)


# -- FBA stock crossing zero: fba_stock changes -------------------------------------------

# 01:30 UTC is still the previous day in Los Angeles: the change is dated on Amazon's day.
T0 = datetime(2026, 11, 3, 20, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 5, 1, 30, tzinfo=UTC)
T2 = datetime(2026, 11, 6, 20, 0, tzinfo=UTC)


class FbaStockChangesTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        self.summaries = copy.deepcopy(sim_payloads()["inventory"][:3])
        self.skus = [s["sellerSku"] for s in self.summaries]
        self.listings = {
            s["sellerSku"]: Listing.objects.create(
                connection=self.connection,
                marketplace_id=MARKET,
                sku=s["sellerSku"],
                asin=s["asin"],
                tracking=Listing.Tracking.TRACKED,
            )
            for s in self.summaries
        }

    def upsert(self, at: datetime, fulfillable: dict[str, int | None]) -> None:
        page = copy.deepcopy(self.summaries)
        for summary in page:
            summary["inventoryDetails"]["fulfillableQuantity"] = fulfillable[summary["sellerSku"]]
        with clock.following(lambda: at):
            inventory_upsert_fba(connection=self.connection, marketplace_id=MARKET, summaries=page)

    def changes(self) -> list[tuple]:
        keys = ConnectionKeys(self.connection)
        return [
            (c.sku, c.field, c.source, c.day, c.seen_after, c.seen_at, c.listing_id)
            + (listing_change_payload(change=c, keys=keys),)
            for c in ListingChange.objects.filter(connection=self.connection).order_by(
                "seen_at", "sku"
            )
        ]

    def test_crossing_zero_is_an_observed_fba_stock_change_of_the_listing(self):
        a, b, c = self.skus
        self.upsert(T0, {a: 12, b: 5, c: 0})
        self.upsert(T1, {a: 0, b: 3, c: 7})
        self.upsert(T2, {a: 4, b: 3, c: 7})
        first = [
            (a, "fba_stock", "observed", date(2026, 11, 4), T0, T1, self.listings[a].pk)
            + ({"action": "out_of_stock", "before": 12, "after": 0},),
            (c, "fba_stock", "observed", date(2026, 11, 4), T0, T1, self.listings[c].pk)
            + ({"action": "back_in_stock", "before": 0, "after": 7},),
        ]
        assert self.changes() == [
            *sorted(first),
            (a, "fba_stock", "observed", date(2026, 11, 6), T1, T2, self.listings[a].pk)
            + ({"action": "back_in_stock", "before": 0, "after": 4},),
        ]

    def test_a_first_read_an_unknown_quantity_and_plain_moves_are_not_changes(self):
        a, b, c = self.skus
        self.upsert(T0, {a: 0, b: 5, c: None})
        self.upsert(T1, {a: 0, b: 1, c: 0})
        self.upsert(T2, {a: None, b: 2, c: 0})
        assert self.changes() == []

    def test_untracked_and_unknown_listings_get_none(self):
        a, b, c = self.skus
        self.listings[a].tracking = Listing.Tracking.STOPPED
        self.listings[a].save()
        self.listings[b].delete()
        self.upsert(T0, {a: 5, b: 5, c: 5})
        self.upsert(T1, {a: 0, b: 0, c: 0})
        assert [row[0] for row in self.changes()] == [c]

    def test_a_retried_page_records_the_transition_once(self):
        a, b, c = self.skus
        self.upsert(T0, {a: 5, b: 5, c: 5})
        before = {
            row.sku: (row.fba_enc, row.fba_updated_at) for row in InventoryLevel.objects.all()
        }
        self.upsert(T1, {a: 0, b: 5, c: 5})
        # The page is read again later, as if the first attempt's rows had not been stored.
        for sku, (fba_enc, updated_at) in before.items():
            InventoryLevel.objects.filter(sku=sku).update(
                fba_enc=fba_enc, fba_updated_at=updated_at
            )
        self.upsert(T1 + timedelta(minutes=5), {a: 0, b: 5, c: 5})
        self.upsert(T2, {a: 0, b: 5, c: 5})
        assert [(row[0], row[7]["action"]) for row in self.changes()] == [(a, "out_of_stock")]

    def test_a_page_is_one_read_and_one_upsert(self):
        a, b, c = self.skus
        self.upsert(T0, {a: 5, b: 5, c: 5})
        # The read of the previous rows, the upsert, and the transaction's savepoint.
        with self.assertNumQueries(4):
            self.upsert(T1, {a: 4, b: 6, c: 5})
