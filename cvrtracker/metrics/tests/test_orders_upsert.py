"""orders_upsert: searchOrders pages, encrypted, idempotent, never any buyer data."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.metrics.models import Order, OrderItem
from cvrtracker.metrics.orders import (
    OrderFormatError,
    order_data,
    order_find,
    order_item_data,
    orders_count_by_day,
    orders_upsert,
)
from cvrtracker.test import BaseTestCase

from .helpers import make_connection, raw_table_bytes, sim_payloads

BUYER = {
    "buyerName": "Zelda Canaryfield",
    "buyerEmail": "zelda.canaryfield@marketplace.example",
    "buyerCompanyName": "Canaryfield GmbH",
}
RECIPIENT = {
    "deliveryAddress": {
        "name": "Zelda Canaryfield",
        "addressLine1": "17 Canary Wharf Lane",
        "city": "Seattle",
        "postalCode": "98109",
        "countryCode": "US",
    }
}


class OrdersUpsertTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        self.orders = sim_payloads()["orders"]

    def upsert(self, orders=None) -> int:
        return orders_upsert(connection=self.connection, orders=orders or self.orders)

    def test_it_stores_orders_and_items_from_a_real_page(self):
        assert self.upsert() == len(self.orders) > 5
        first = self.orders[0]
        order = order_find(connection=self.connection, order_id=first["orderId"])
        assert order.status == first["fulfillment"]["fulfillmentStatus"]
        assert order.marketplace_id == first["salesChannel"]["marketplaceId"]
        data = order_data(connection=self.connection, order=order)
        assert data["order_id"] == first["orderId"]
        assert data["grand_total"]["amount"] == first["proceeds"]["grandTotal"]["amount"]
        (item,) = order.items.all()
        raw_item = first["orderItems"][0]
        assert (item.asin, item.sku) == (
            raw_item["product"]["asin"],
            raw_item["product"]["sellerSku"],
        )
        item_data = order_item_data(connection=self.connection, item=item)
        assert item_data["quantity"] == raw_item["quantityOrdered"]

    def test_it_is_idempotent(self):
        self.upsert()
        rows = sorted(Order.objects.values_list("code", "order_id_index", "status"))
        items = sorted(OrderItem.objects.values_list("code", "item_id_index", "asin"))
        self.upsert()
        assert sorted(Order.objects.values_list("code", "order_id_index", "status")) == rows
        assert sorted(OrderItem.objects.values_list("code", "item_id_index", "asin")) == items

    def test_it_reads_the_stored_items_of_a_page_in_one_query(self):
        self.upsert()
        with CaptureQueriesContext(db_connection) as queries:
            self.upsert()
        item_reads = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].startswith("SELECT") and "metrics_orderitem" in q["sql"]
        ]
        assert len(item_reads) == 1

    def test_an_item_gone_from_the_order_is_deleted(self):
        order = copy.deepcopy(self.orders[0])
        extra = copy.deepcopy(order["orderItems"][0])
        extra["orderItemId"] = "99999999999999"
        order["orderItems"].append(extra)
        self.upsert([order])
        assert OrderItem.objects.count() == 2
        order["orderItems"].pop()
        order["lastUpdatedTime"] = "2026-11-29T12:00:00Z"
        self.upsert([order])
        (item,) = OrderItem.objects.all()
        assert order_item_data(connection=self.connection, item=item)["order_item_id"] == str(
            order["orderItems"][0]["orderItemId"]
        )

    def test_a_newer_update_changes_the_status_and_an_older_one_does_not(self):
        order = copy.deepcopy(self.orders[0])
        order["fulfillment"]["fulfillmentStatus"] = "UNSHIPPED"
        self.upsert([order])
        newer = copy.deepcopy(order)
        newer["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
        newer["lastUpdatedTime"] = "2026-11-29T12:00:00Z"
        self.upsert([newer])
        self.upsert([order])  # a stale page arriving late
        assert Order.objects.get().status == Order.Status.CANCELLED

    def test_it_never_stores_buyer_or_recipient_data(self):
        orders = copy.deepcopy(self.orders)
        for order in orders:
            order["buyer"] = BUYER
            order["recipient"] = RECIPIENT
        self.upsert(orders)
        stored = raw_table_bytes("metrics_order", "metrics_orderitem")
        keys_plain = str(
            [order_data(connection=self.connection, order=o) for o in Order.objects.all()]
            + [order_item_data(connection=self.connection, item=i) for i in OrderItem.objects.all()]
        )
        for secret in ("Canaryfield", "Canary Wharf", "98109"):
            assert secret.encode() not in stored
            assert secret not in keys_plain

    def test_order_ids_are_not_stored_in_plaintext(self):
        self.upsert()
        stored = raw_table_bytes("metrics_order", "metrics_orderitem")
        for order in self.orders:
            assert order["orderId"].encode() not in stored
            assert order["orderItems"][0]["orderItemId"].encode() not in stored

    def test_blind_indexes_differ_between_connections(self):
        self.upsert()
        other = make_connection(self.charlies_team, seller_id="A9CHARLIE")
        orders_upsert(connection=other, orders=self.orders[:1])
        mine = Order.objects.filter(connection=self.connection)
        theirs = Order.objects.get(connection=other)
        assert theirs.order_id_index not in set(mine.values_list("order_id_index", flat=True))

    def test_a_shredded_key_makes_orders_unreadable(self):
        self.upsert()
        order = Order.objects.first()
        self.connection.wrapped_data_key = None
        self.connection.save()
        with pytest.raises(DecryptionError):
            order_data(connection=self.connection, order=order)
        with pytest.raises(DecryptionError):
            order_find(connection=self.connection, order_id=self.orders[0]["orderId"])

    def test_an_order_without_items_is_refused_whole(self):
        broken = [*copy.deepcopy(self.orders[:3]), {"orderId": "111-0000000-0000000"}]
        with pytest.raises(OrderFormatError):
            self.upsert(broken)
        assert Order.objects.count() == 0


US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"


class OrderDaysTestCase(BaseTestCase):
    """An order belongs to its marketplace's business day, as in Amazon's reports."""

    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        self.template = sim_payloads()["orders"][0]

    def order(self, order_id: str, marketplace_id: str, created: str) -> dict:
        order = copy.deepcopy(self.template)
        order["orderId"] = order_id
        order["createdTime"] = order["lastUpdatedTime"] = created
        order["salesChannel"]["marketplaceId"] = marketplace_id
        return order

    def test_three_in_the_morning_utc_is_the_previous_us_day_and_the_same_de_day(self):
        orders_upsert(
            connection=self.connection,
            orders=[
                self.order("111-0000001-0000001", US, "2026-03-10T03:00:00Z"),
                self.order("111-0000001-0000002", DE, "2026-03-10T03:00:00Z"),
                self.order("111-0000001-0000003", US, "2026-03-10T08:00:00Z"),
            ],
        )
        us = order_find(connection=self.connection, order_id="111-0000001-0000001")
        de = order_find(connection=self.connection, order_id="111-0000001-0000002")
        assert us.purchase_day == date(2026, 3, 9)  # 20:00 PDT on the 9th
        assert de.purchase_day == date(2026, 3, 10)  # 04:00 CET on the 10th
        days = dict(start=date(2026, 3, 8), end=date(2026, 3, 11))
        assert orders_count_by_day(connection=self.connection, marketplace_id=US, **days) == {
            date(2026, 3, 9): 1,
            date(2026, 3, 10): 1,
        }
        assert orders_count_by_day(connection=self.connection, marketplace_id=DE, **days) == {
            date(2026, 3, 10): 1
        }
