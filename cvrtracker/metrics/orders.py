"""Store orders from Orders 2026-01-01 searchOrders pages, encrypted, without buyer data.

Fields are copied from the payload by name (an allow-list): buyer, recipient,
address, tax and payment blocks are never read, so no future payload field can
slip personal data into the database.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import Count

from cvrtracker.amazon.marketplaces import marketplace_day
from cvrtracker.amazon.models import SellerConnection

from .keys import ConnectionKeys
from .models import Order, OrderItem

ORDER_ID = "order-id"
ORDER_ITEM_ID = "order-item-id"


class OrderFormatError(ValueError):
    """An order in a searchOrders payload lacks a field we need."""


def orders_upsert(*, connection: SellerConnection, orders: list[dict]) -> int:
    """Insert or update `orders` (searchOrders' `orders` list); returns how many were written.

    Idempotent: the same page twice leaves the same rows. An update not newer
    than the stored one (pages fetched out of order, or again where two windows
    overlap) is skipped and not counted.
    """
    keys = ConnectionKeys(connection)
    parsed = [_parse_order(raw) for raw in orders]
    by_index = {keys.blind_index(ORDER_ID, p["order_id"]): p for p in parsed}
    written = 0
    with transaction.atomic():
        # The stored items come in one query with their orders, not one per order.
        existing = {
            o.order_id_index: o
            for o in Order.objects.select_for_update()
            .filter(connection=connection, order_id_index__in=list(by_index))
            .prefetch_related("items")
        }
        for index, p in sorted(by_index.items()):
            order = existing.get(index)
            if order is not None and order.last_updated_time >= p["last_updated_time"]:
                continue
            current = {}
            if order is None:
                order = Order(connection=connection, order_id_index=index)
            else:
                current = {i.item_id_index: i for i in order.items.all()}
            order.marketplace_id = p["marketplace_id"]
            order.status = p["status"]
            order.created_time = p["created_time"]
            order.purchase_day = marketplace_day(p["marketplace_id"], p["created_time"])
            order.last_updated_time = p["last_updated_time"]
            order.data_enc = keys.data.encrypt_json(p["data"], aad=order.aad("data"))
            order.save()
            _upsert_items(keys, order, p["items"], current)
            written += 1
    return written


def _upsert_items(
    keys: ConnectionKeys, order: Order, items: list[dict], current: dict[str, OrderItem]
) -> None:
    """Write the order's items; `current` are its stored items by blind index."""
    seen = set()
    for raw in items:
        index = keys.blind_index(ORDER_ITEM_ID, raw["data"]["order_item_id"])
        seen.add(index)
        item = current.get(index) or OrderItem(order=order, item_id_index=index)
        item.asin, item.sku = raw["asin"], raw["sku"]
        item.data_enc = keys.data.encrypt_json(raw["data"], aad=item.aad("data"))
        item.save()
    gone = [item.pk for index, item in current.items() if index not in seen]
    if gone:
        OrderItem.objects.filter(pk__in=gone).delete()


def _parse_order(raw: dict) -> dict[str, Any]:
    try:
        order_id = str(raw["orderId"])
        created = _time(raw["createdTime"])
        updated = _time(raw["lastUpdatedTime"])
        items = [_parse_item(i) for i in raw["orderItems"]]
    except (KeyError, TypeError, ValueError) as error:
        raise OrderFormatError(f"an order lacks a required field: {error}") from None
    channel = raw.get("salesChannel") or {}
    fulfillment = raw.get("fulfillment") or {}
    status = fulfillment.get("fulfillmentStatus")
    proceeds = raw.get("proceeds") or {}
    return {
        "order_id": order_id,
        "created_time": created,
        "last_updated_time": updated,
        "marketplace_id": str(channel.get("marketplaceId") or ""),
        "status": status if status in Order.Status.values else Order.Status.UNKNOWN,
        "items": items,
        "data": {
            "order_id": order_id,
            "channel": channel.get("channelName"),
            "fulfilled_by": fulfillment.get("fulfilledBy"),
            "service_level": fulfillment.get("fulfillmentServiceLevel"),
            "grand_total": _money(proceeds.get("grandTotal")),
        },
    }


def _parse_item(raw: dict) -> dict[str, Any]:
    product = raw["product"]
    quantity = raw["quantityOrdered"]
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise ValueError("quantityOrdered")
    fulfillment = raw.get("fulfillment") or {}
    price = (product.get("price") or {}).get("unitPrice")
    return {
        "asin": str(product.get("asin") or ""),
        "sku": str(product.get("sellerSku") or ""),
        "data": {
            "order_item_id": str(raw["orderItemId"]),
            "quantity": quantity,
            "quantity_fulfilled": fulfillment.get("quantityFulfilled"),
            "unit_price": _money(price),
            "proceeds": _money((raw.get("proceeds") or {}).get("proceedsTotal")),
        },
    }


def _money(value: Any) -> dict | None:
    if not isinstance(value, dict) or "amount" not in value:
        return None
    return {"amount": str(value["amount"]), "currency": str(value.get("currencyCode", ""))}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def order_data(*, connection: SellerConnection, order: Order) -> dict:
    """The decrypted order details (order id, totals), for views and exports."""
    return ConnectionKeys(connection).data.decrypt_json(
        bytes(order.data_enc), aad=order.aad("data")
    )


def order_item_data(*, connection: SellerConnection, item: OrderItem) -> dict:
    """The decrypted item details (order item id, quantity, prices)."""
    return ConnectionKeys(connection).data.decrypt_json(bytes(item.data_enc), aad=item.aad("data"))


def order_find(*, connection: SellerConnection, order_id: str) -> Order | None:
    """The stored order with Amazon's `order_id`, found through its blind index."""
    index = ConnectionKeys(connection).blind_index(ORDER_ID, order_id)
    return Order.objects.filter(connection=connection, order_id_index=index).first()


def orders_count_by_day(
    *, connection: SellerConnection, marketplace_id: str, start: date, end: date
) -> dict[date, int]:
    """Orders placed per marketplace day from `start` to `end` (inclusive), days without
    orders left out. Days are the marketplace's business days (US: Pacific time), as in
    Amazon's reports, not UTC dates."""
    rows = (
        Order.objects.filter(
            connection=connection,
            marketplace_id=marketplace_id,
            purchase_day__gte=start,
            purchase_day__lte=end,
        )
        .values("purchase_day")
        .annotate(n=Count("pk"))
    )
    return {row["purchase_day"]: row["n"] for row in rows}
