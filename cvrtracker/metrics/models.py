"""Daily Sales & Traffic metrics and orders, encrypted under each connection's data key.

Plaintext columns are limited to what queries need: surrogate ids, dates,
ASIN/marketplace identifiers and statuses. Every value Amazon reports (traffic,
units, sales, order ids, quantities, prices) is inside an AES-256-GCM ciphertext
whose associated data names this table, the row's natural key and the field.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import uuid
from datetime import date

from django.db import models

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib.crypto import associated_data


class MetricBlock(models.Model):
    """One month of daily metrics of one connection and marketplace, for a shard of its ASINs.

    Dashboards read whole months: one decryption per shard yields hundreds or
    thousands of ASINs × 31 days as numpy arrays (layout in blocks.py). ASINs are
    spread over SHARDS blocks by a stable hash, so one product's series reads one
    shard, and a worker storing a 50,000-ASIN day never holds more than a
    sixteenth of the month in memory. The price is write amplification: ingesting
    a day rewrites its month's shards, under row locks (see
    services.metrics_ingest_days). Account blocks have one row and use shard 0.
    """

    class Granularity(models.TextChoices):
        ASIN = "asin", "Per child ASIN"
        ACCOUNT = "account", "Whole account"

    TABLE = "metrics_metricblock"
    ACCOUNT_KEY = "*"

    connection = models.ForeignKey(
        SellerConnection, on_delete=models.CASCADE, related_name="metric_blocks"
    )
    marketplace_id = models.CharField(max_length=32)
    granularity = models.CharField(max_length=8, choices=Granularity.choices)
    month = models.DateField(help_text="The first day of the month")
    # blocks.shard_of(asin) for ASIN blocks; 0 for account blocks.
    shard = models.PositiveSmallIntegerField(default=0)
    # Plaintext row index: [child ASIN, parent ASIN] per row of the value arrays,
    # sorted. Identifiers only; the AAD of `values_enc` covers a digest of it, so a
    # reordered index fails to decrypt instead of attributing values to other ASINs.
    rows = models.JSONField(default=list)
    # Per day of the month: when its report was last stored (ISO 8601) or None.
    # Read without decrypting by the backfill progress and the restatement window.
    fetched = models.JSONField(default=list)
    values_enc = models.BinaryField(default=b"", editable=False)
    # Bumped on every write, so a cache can tell a block changed without decrypting.
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "marketplace_id", "granularity", "month", "shard"],
                name="metrics_block_unique_shard",
            )
        ]

    def __str__(self) -> str:
        return f"{self.marketplace_id} {self.granularity} {self.month:%Y-%m} #{self.shard}"

    @property
    def n_days(self) -> int:
        return calendar.monthrange(self.month.year, self.month.month)[1]

    def natural_key(self, connection_code: str) -> str:
        return (
            f"{connection_code}/{self.marketplace_id}/{self.granularity}/"
            f"{self.month:%Y-%m}/{self.shard}"
        )

    def values_aad(self, connection_code: str) -> bytes:
        index = hashlib.sha256(json.dumps(self.rows, separators=(",", ":")).encode())
        return associated_data(
            self.TABLE, self.natural_key(connection_code), f"values:{index.hexdigest()[:32]}"
        )

    def day(self, index: int) -> date:
        return self.month.replace(day=index + 1)


class Order(models.Model):
    """An order from Orders 2026-01-01 searchOrders; never any buyer or recipient data."""

    class Status(models.TextChoices):
        # Amazon's FulfillmentStatus; UNKNOWN when the payload had no fulfillment block.
        PENDING_AVAILABILITY = "PENDING_AVAILABILITY", "Pending availability"
        PENDING = "PENDING", "Pending"
        UNSHIPPED = "UNSHIPPED", "Unshipped"
        PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED", "Partially shipped"
        SHIPPED = "SHIPPED", "Shipped"
        CANCELLED = "CANCELLED", "Cancelled"
        UNFULFILLABLE = "UNFULFILLABLE", "Unfulfillable"
        UNKNOWN = "UNKNOWN", "Unknown"

    TABLE = "metrics_order"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    connection = models.ForeignKey(
        SellerConnection, on_delete=models.CASCADE, related_name="orders"
    )
    marketplace_id = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.UNKNOWN)
    created_time = models.DateTimeField()
    # The marketplace's business day of `created_time` (US: Pacific time), the day
    # Amazon's reports count the order in; never the UTC date.
    purchase_day = models.DateField(null=True, blank=True)
    last_updated_time = models.DateTimeField()
    # Amazon's order id is not on the plaintext allow-list: it is stored encrypted,
    # and found through this keyed HMAC (blind index) from the connection's key.
    order_id_index = models.CharField(max_length=64)
    # {"order_id", "fulfilled_by", "service_level", "channel", "grand_total"}
    data_enc = models.BinaryField(editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "order_id_index"], name="metrics_order_unique_id"
            )
        ]
        indexes = [
            models.Index(fields=["connection", "created_time"], name="metrics_order_created"),
            models.Index(
                fields=["connection", "marketplace_id", "purchase_day"], name="metrics_order_day"
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.code}"

    def aad(self, field: str) -> bytes:
        return associated_data(self.TABLE, str(self.code), field)


class OrderItem(models.Model):
    TABLE = "metrics_orderitem"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    asin = models.CharField(max_length=16)
    sku = models.CharField(max_length=200, blank=True)
    # Keyed HMAC of Amazon's orderItemId, so a re-synced order updates its items in place.
    item_id_index = models.CharField(max_length=64)
    # {"order_item_id", "quantity", "quantity_fulfilled", "unit_price", "proceeds"}
    data_enc = models.BinaryField(editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "item_id_index"], name="metrics_item_unique")
        ]
        indexes = [models.Index(fields=["asin"], name="metrics_orderitem_asin")]

    def __str__(self) -> str:
        return f"{self.asin} in {self.order_id}"

    def aad(self, field: str) -> bytes:
        return associated_data(self.TABLE, str(self.code), field)


class MetricRangeTotals(models.Model):
    """Every child ASIN's totals over one range of days of one marketplace, from ONE
    Sales & Traffic report over the range (metrics/quick.py).

    Amazon aggregates the report's by-ASIN section over the whole requested range,
    so a single request gives a new seller every product's last-30-day totals within
    a minute of connecting, long before the one-report-per-day backfill is done.
    One row per connection and marketplace: a newer range replaces the older one.
    The values are one column of a MetricBlock layout (blocks.py, n_days = 1).
    """

    TABLE = "metrics_metricrangetotals"

    connection = models.ForeignKey(
        SellerConnection, on_delete=models.CASCADE, related_name="metric_range_totals"
    )
    marketplace_id = models.CharField(max_length=32)
    start = models.DateField()
    end = models.DateField()
    fetched_at = models.DateTimeField()
    # Days of the range whose by-date row had sales and no sessions yet (traffic not
    # arrived): plaintext like SalesTrafficDay.is_pending, a status, not a value.
    pending_days = models.PositiveSmallIntegerField(default=0)
    # Plaintext row index: [child ASIN, parent ASIN] per row, sorted; the AAD of
    # `values_enc` covers a digest of it, as in MetricBlock.
    rows = models.JSONField(default=list)
    values_enc = models.BinaryField(default=b"", editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "marketplace_id"], name="metrics_range_totals_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.marketplace_id} {self.start}..{self.end}"

    def natural_key(self, connection_code: str) -> str:
        return f"{connection_code}/{self.marketplace_id}/{self.start}/{self.end}"

    def values_aad(self, connection_code: str) -> bytes:
        index = hashlib.sha256(json.dumps(self.rows, separators=(",", ":")).encode())
        return associated_data(
            self.TABLE, self.natural_key(connection_code), f"values:{index.hexdigest()[:32]}"
        )
