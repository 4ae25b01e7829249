"""listing_record_snapshot: one encrypted snapshot per listing and sync, with a keyed digest."""

from __future__ import annotations

import copy

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.models import Listing, ListingSnapshot
from cvrtracker.listings.services import (
    listing_content,
    listing_record_snapshot,
    listings_admit,
    snapshot_content,
)
from cvrtracker.metrics.tests.helpers import MARKET, make_connection, raw_table_bytes, sim_payloads
from cvrtracker.test import BaseTestCase

CANARY = "Zorblax Canary Kettle 9000"


class RecordSnapshotTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        self.items = sim_payloads()["items"]
        self.catalog = sim_payloads()["catalog"]

    def admit(self, item, connection=None):
        connection = connection or self.connection
        admitted = listings_admit(connection=connection, marketplace_id=MARKET, items=[item])
        return admitted[item["sku"]]

    def record(self, item, sync_id="sync-1", catalog=True):
        asin = item["summaries"][0]["asin"]
        return listing_record_snapshot(
            listing=self.admit(item),
            item=item,
            catalog_item=self.catalog.get(asin) if catalog else None,
            sync_id=sync_id,
        )

    def test_it_records_every_listing_of_a_sync(self):
        for item in self.items:
            self.record(item)
        assert Listing.objects.count() == ListingSnapshot.objects.count() == len(self.items)
        listing = Listing.objects.get(sku=self.items[0]["sku"])
        assert listing.asin == self.items[0]["summaries"][0]["asin"]
        assert listing.status == Listing.Status.BUYABLE
        content = listing_content(connection=self.connection, listing=listing)
        assert content["title"] == self.items[0]["summaries"][0]["itemName"]
        snapshot = listing.latest_snapshot()
        assert snapshot_content(connection=self.connection, snapshot=snapshot) == content

    def test_an_admitted_listing_needs_no_query_for_its_seller_account(self):
        listing = self.admit(self.items[0])
        with CaptureQueriesContext(db_connection) as queries:
            listing_record_snapshot(
                listing=listing, item=self.items[0], catalog_item=None, sync_id="sync-1"
            )
        assert not [q for q in queries.captured_queries if "amazon_sellerconnection" in q["sql"]]

    def test_it_is_idempotent_per_listing_and_sync(self):
        first = self.record(self.items[0])
        again = self.record(self.items[0])
        assert again.pk == first.pk
        assert ListingSnapshot.objects.count() == 1
        self.record(self.items[0], sync_id="sync-2")
        assert ListingSnapshot.objects.count() == 2

    def test_equal_content_has_equal_digests_and_a_change_does_not(self):
        first = self.record(self.items[0], "sync-1")
        same = self.record(self.items[0], "sync-2")
        renamed = self.record(sim_payloads()["renamed"], "sync-3", catalog=False)
        assert renamed.listing_id == first.listing_id
        assert same.digest == first.digest
        assert renamed.digest != first.digest
        content = snapshot_content(connection=self.connection, snapshot=renamed)
        assert content["title"].startswith("CANARY-RENAMED")

    def test_digests_are_keyed_per_connection(self):
        mine = self.record(self.items[0])
        other = make_connection(self.charlies_team, seller_id="A9CHARLIE")
        theirs = listing_record_snapshot(
            listing=self.admit(self.items[0], connection=other),
            item=self.items[0],
            catalog_item=self.catalog[self.items[0]["summaries"][0]["asin"]],
            sync_id="sync-1",
        )
        assert theirs.digest != mine.digest

    def test_listing_content_never_appears_in_plaintext(self):
        item = copy.deepcopy(self.items[0])
        item["summaries"][0]["itemName"] = CANARY
        item["attributes"]["bullet_point"][0]["value"] = f"{CANARY} bullet"
        item["offers"][0]["price"]["amount"] = "987.65"
        self.record(item, catalog=False)
        stored = raw_table_bytes("listings_listing", "listings_listingsnapshot")
        for secret in (b"Zorblax", b"987.65", b"m.media", b"/images/I/"):
            assert secret not in stored
        assert item["sku"].encode() in stored  # identifiers stay queryable

    def test_a_shredded_key_makes_listings_unreadable(self):
        snapshot = self.record(self.items[0])
        self.connection.wrapped_data_key = None
        self.connection.save()
        with pytest.raises(DecryptionError):
            snapshot_content(connection=self.connection, snapshot=snapshot)
        with pytest.raises(DecryptionError):
            listing_content(connection=self.connection, listing=snapshot.listing)

    def test_an_item_without_a_sku_is_refused(self):
        item = copy.deepcopy(self.items[0])
        del item["sku"]
        with pytest.raises(ValueError, match="sku"):
            self.record(item)
        assert Listing.objects.count() == 0

    def test_an_untracked_listing_gets_no_snapshot_and_no_content(self):
        listing = self.admit(self.items[0])
        Listing.objects.filter(pk=listing.pk).update(tracking=Listing.Tracking.STOPPED)
        asin = self.items[0]["summaries"][0]["asin"]
        snapshot = listing_record_snapshot(
            listing=listing, item=self.items[0], catalog_item=self.catalog[asin], sync_id="s1"
        )
        assert snapshot is None
        assert ListingSnapshot.objects.count() == 0
        assert listing_content(connection=self.connection, listing=listing) is None

    def test_an_item_of_another_sku_is_refused(self):
        listing = self.admit(self.items[0])
        with pytest.raises(ValueError, match="listing"):
            listing_record_snapshot(
                listing=listing, item=self.items[1], catalog_item=None, sync_id="sync-1"
            )
