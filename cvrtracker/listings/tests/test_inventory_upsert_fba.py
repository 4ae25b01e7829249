"""inventory_upsert_fba: getInventorySummaries pages, quantities encrypted."""

from __future__ import annotations

import copy

import pytest

from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.models import InventoryLevel
from cvrtracker.listings.services import inventory_quantities, inventory_upsert_fba
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
