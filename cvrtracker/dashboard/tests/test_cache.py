"""dashboard/cache.py: the stamp of the blocks a cached figure was read from, and the
encrypted entries kept under it."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache

from cvrtracker.dashboard.cache import cached_encrypted, metric_blocks_stamp
from cvrtracker.metrics.blocks import shard_of
from cvrtracker.metrics.datakiosk import TrendRow
from cvrtracker.metrics.report import AsinRow, DateRow, Money
from cvrtracker.metrics.services import metrics_ingest_account_days, metrics_merge_asin_days
from cvrtracker.test import BaseTestCase

from .product_helpers import ASIN, US, connect, store_days

OTHER = "B0OTHER000"  # in another shard than ASIN


class StampTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = connect(self.team)
        self.start, self.end = store_days(self.connection)

    def stamp(self, asin: str | None = ASIN) -> str:
        return metric_blocks_stamp(
            connection=self.connection,
            marketplace_id=US,
            start=self.start,
            end=self.end,
            asin=asin,
        )

    def test_storing_another_shards_day_changes_both_stamps(self):
        """The overview reads every shard; the product's shard is dated with the day
        (a newly fetched day is one more zero day of its series)."""
        assert shard_of(OTHER) != shard_of(ASIN)
        product, overview = self.stamp(), self.stamp(None)
        day = self.end - timedelta(days=5)
        row = AsinRow(
            parent_asin=OTHER,
            child_asin=OTHER,
            sku=None,
            sessions=50,
            page_views=60,
            units_ordered=4,
            total_order_items=4,
            ordered_product_sales=Money(4 * 999, "USD"),
            buy_box_percentage=100.0,
            unit_session_percentage=8.0,
        )
        metrics_merge_asin_days(
            connection=self.connection,
            marketplace_id=US,
            start=day,
            end=day,
            asins=[OTHER],
            rows=[TrendRow(day, row)],
            currency="USD",
        )
        assert self.stamp() != product
        assert self.stamp(None) != overview

    def test_the_account_series_changes_a_products_stamp(self):
        """A product's pending days come from the account's blocks."""
        product, overview = self.stamp(), self.stamp(None)
        day = self.end - timedelta(days=1)
        row = DateRow(day, 300, 400, 6, 6, Money(6 * 2499, "USD"), 95.0, 0.0)
        metrics_ingest_account_days(
            connection=self.connection,
            marketplace_id=US,
            start=day,
            end=day,
            rows=[row],
            currency="USD",
        )
        assert self.stamp() != product
        assert self.stamp(None) == overview


class CachedEncryptedTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        cache.clear()
        self.connection = connect(self.team)

    def get(self, name: str, value):
        return cached_encrypted(
            connection=self.connection,
            kind="test.kind",
            name=name,
            compute=lambda: value,
            timeout=60,
        )

    def test_it_keeps_the_value_encrypted_under_its_name(self):
        assert self.get("a", {"secret": "B0SECRET01"}) == {"secret": "B0SECRET01"}
        assert self.get("a", "not computed again") == {"secret": "B0SECRET01"}
        assert self.get("b", "another name") == "another name"
        stored = [v for k, v in cache._cache.items() if "test.kind:" in k]
        assert len(stored) == 2 and all(b"B0SECRET01" not in bytes(v) for v in stored)

    def test_an_entry_of_another_account_is_computed_again(self):
        """Same name, other connection: another key, and its data key would not open it."""
        self.get("a", "first")
        other = connect(self.team, seller_id="A2OTHER")
        found = cached_encrypted(
            connection=other, kind="test.kind", name="a", compute=lambda: "own", timeout=60
        )
        assert found == "own"
