"""inventory_upsert_mfn: merchant-fulfilled quantities beside the FBA details."""

from __future__ import annotations

from cvrtracker.listings.models import InventoryLevel
from cvrtracker.listings.normalize import listing_content_from
from cvrtracker.listings.services import (
    inventory_quantities,
    inventory_upsert_fba,
    inventory_upsert_mfn,
)
from cvrtracker.metrics.tests.helpers import MARKET, make_connection, sim_payloads
from cvrtracker.test import BaseTestCase


class InventoryUpsertMfnTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)

    def test_it_stores_the_merchant_quantity_of_a_listing(self):
        mfn = [
            i
            for i in sim_payloads()["items"]
            if i["fulfillmentAvailability"][0]["fulfillmentChannelCode"] == "DEFAULT"
        ]
        for item in mfn:
            quantity = listing_content_from(item, None)["mfn_quantity"]
            inventory_upsert_mfn(
                connection=self.connection,
                marketplace_id=MARKET,
                sku=item["sku"],
                quantity=quantity,
            )
        for item in mfn:
            level = InventoryLevel.objects.get(sku=item["sku"])
            stored = inventory_quantities(connection=self.connection, level=level)
            assert stored == {
                "fba": None,
                "mfn_quantity": item["fulfillmentAvailability"][0]["quantity"],
            }

    def test_fba_and_mfn_writers_do_not_overwrite_each_other(self):
        summary = sim_payloads()["inventory"][0]
        sku = summary["sellerSku"]
        inventory_upsert_mfn(connection=self.connection, marketplace_id=MARKET, sku=sku, quantity=4)
        inventory_upsert_fba(connection=self.connection, marketplace_id=MARKET, summaries=[summary])
        inventory_upsert_mfn(connection=self.connection, marketplace_id=MARKET, sku=sku, quantity=9)
        level = InventoryLevel.objects.get(sku=sku)
        stored = inventory_quantities(connection=self.connection, level=level)
        assert stored["mfn_quantity"] == 9
        assert stored["fba"]["fulfillable"] == summary["inventoryDetails"]["fulfillableQuantity"]
        assert InventoryLevel.objects.count() == 1
