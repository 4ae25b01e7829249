"""listing_record_snapshot: an encrypted snapshot (with a keyed digest) only when the listing
changed, every read remembered on the listing, and the field-level changes stored with it."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.listings.changes import listing_change_payload
from cvrtracker.listings.models import Listing, ListingChange, ListingSnapshot
from cvrtracker.listings.normalize import listing_content_from
from cvrtracker.listings.services import (
    listing_content,
    listing_record_snapshot,
    listings_admit,
    snapshot_content,
)
from cvrtracker.metrics.keys import ConnectionKeys
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
        # Nothing changed: the read is remembered on the listing, no snapshot is stored.
        assert ListingSnapshot.objects.count() == 1
        assert Listing.objects.get().content_sync_id == "sync-2"

    def test_equal_content_has_equal_digests_and_a_change_does_not(self):
        first = self.record(self.items[0], "sync-1")
        same = self.record(self.items[0], "sync-2")
        renamed = self.record(sim_payloads()["renamed"], "sync-3", catalog=False)
        assert renamed.listing_id == first.listing_id
        assert same.pk == first.pk
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


T0 = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)  # 23:30 on the 19th in Seattle


class RecordChangesTestCase(BaseTestCase):
    """What a read stores when the listing did or did not change."""

    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)
        self.item = copy.deepcopy(sim_payloads()["items"][0])
        self.asin = self.item["summaries"][0]["asin"]
        self.catalog = copy.deepcopy(sim_payloads()["catalog"][self.asin])

    def read(self, sync_id: str, at: datetime, *, item=None, catalog=None):
        item = item or self.item
        listing = listings_admit(connection=self.connection, marketplace_id=MARKET, items=[item])[
            item["sku"]
        ]
        with time_machine.travel(at, tick=False):
            return listing_record_snapshot(
                listing=listing, item=item, catalog_item=catalog or self.catalog, sync_id=sync_id
            )

    def changes(self) -> list[tuple]:
        keys = ConnectionKeys(self.connection)
        return [
            (c.field, c.position, listing_change_payload(change=c, keys=keys))
            for c in ListingChange.objects.order_by("id")
        ]

    def test_every_read_is_remembered_and_only_a_change_is_stored(self):
        first = self.read("s1", T0)
        listing = Listing.objects.get()
        assert (listing.content_sync_id, listing.content_seen_at) == ("s1", T0)
        assert self.read("s2", T0 + timedelta(hours=1)).pk == first.pk
        listing.refresh_from_db()
        assert (listing.content_sync_id, listing.content_seen_at) == ("s2", T0 + timedelta(hours=1))
        assert ListingSnapshot.objects.count() == 1 and ListingChange.objects.count() == 0

    def test_a_first_snapshot_records_no_change(self):
        self.read("s1", T0)
        assert ListingChange.objects.count() == 0

    def test_a_change_is_dated_between_the_last_read_that_saw_the_old_content_and_this_one(self):
        old_title = self.catalog["summaries"][0]["itemName"]
        self.read("s1", T0)
        self.read("s2", T0 + timedelta(hours=1))
        self.catalog["summaries"][0]["itemName"] = "A New Title"
        snapshot = self.read("s3", T0 + timedelta(hours=2))
        change = ListingChange.objects.get()
        assert change.snapshot == snapshot and change.listing == snapshot.listing
        assert change.source == ListingChange.Source.OBSERVED
        assert (change.seen_after, change.seen_at) == (T0 + timedelta(hours=1), snapshot.taken_at)
        assert snapshot.taken_at == T0 + timedelta(hours=2)
        # 01:30 on the 20th in Seattle: the US marketplace's day, not UTC's.
        assert change.day == date(2026, 11, 20)
        assert (change.asin, change.sku) == (self.asin, self.item["sku"])
        assert change.key == f"obs:{snapshot.code}:title::edited"
        assert self.changes() == [
            ("title", None, {"action": "edited", "before": old_title, "after": "A New Title"})
        ]

    def test_the_day_is_the_marketplaces_own(self):
        self.read("s1", T0 - timedelta(hours=2))
        self.catalog["summaries"][0]["itemName"] = "A New Title"
        self.read("s2", T0)  # 07:30 UTC on the 20th is still the 19th in Seattle
        assert ListingChange.objects.get().day == date(2026, 11, 19)

    def test_a_retried_read_stores_the_change_once(self):
        self.read("s1", T0)
        self.item["offers"][0]["price"]["amount"] = "1.00"
        first = self.read("s2", T0 + timedelta(hours=1))
        again = self.read("s2", T0 + timedelta(hours=1, minutes=5))
        assert again.pk == first.pk
        assert ListingSnapshot.objects.count() == 2
        assert [field for field, _, _ in self.changes()] == ["price"]
        # The retry is not a new read: "last seen" stays the first attempt's.
        assert Listing.objects.get().content_seen_at == T0 + timedelta(hours=1)

    def test_several_fields_of_one_read(self):
        self.read("s1", T0)
        bullets = self.catalog["attributes"]["bullet_point"]
        new_bullet = {**bullets[0], "value": "A brand new second bullet"}
        self.catalog["attributes"]["bullet_point"] = [bullets[0], new_bullet, *bullets[1:]]
        self.catalog["images"][0]["images"][0]["link"] = "https://m.media-amazon.com/images/I/x.jpg"
        before = dict(self.item["offers"][0]["price"])
        self.item["offers"][0]["price"]["amount"] = "99.00"
        self.read("s2", T0 + timedelta(hours=1))
        got = {(field, position): payload for field, position, payload in self.changes()}
        assert set(got) == {("bullet", 2), ("main_image", None), ("price", None)}
        assert got[("bullet", 2)] == {
            "action": "added",
            "before": None,
            "after": "A brand new second bullet",
        }
        assert got[("main_image", None)]["after"] == "https://m.media-amazon.com/images/I/x.jpg"
        assert got[("price", None)]["before"] == {"amount": before["amount"], "currency": "USD"}
        assert got[("price", None)]["after"] == {"amount": "99.00", "currency": "USD"}
        assert isinstance(got[("price", None)]["pct"], float)

    def test_a_seller_edit_not_live_yet_is_a_snapshot_but_no_change(self):
        self.read("s1", T0)
        self.item["attributes"]["item_name"][0]["value"] = "The seller's title, not live yet"
        snapshot = self.read("s2", T0 + timedelta(hours=1))
        assert ListingSnapshot.objects.count() == 2
        assert snapshot.sync_id == "s2"
        assert ListingChange.objects.count() == 0
        assert Listing.objects.get().pending_fields == ["title"]

    def test_the_first_read_after_brand_and_product_type_were_kept_records_no_change(self):
        # A read by the code before this one: its content had neither key.
        def older(*args, **kwargs):
            content = listing_content_from(*args, **kwargs)
            content.pop("brand", None)
            content.pop("product_type", None)
            return content

        with mock.patch("cvrtracker.listings.services.listing_content_from", older):
            self.read("s1", T0)
        self.read("s2", T0 + timedelta(hours=1))
        assert ListingSnapshot.objects.count() == 2  # its digest differs
        assert ListingChange.objects.count() == 0
        # From then on a brand change is one.
        self.catalog["summaries"][0]["brand"] = "Another Brand"
        self.read("s3", T0 + timedelta(hours=2))
        assert [(f, p["action"], p["after"]) for f, _, p in self.changes()] == [
            ("brand", "changed", "Another Brand")
        ]

    def test_changes_never_appear_in_plaintext(self):
        self.read("s1", T0)
        self.catalog["summaries"][0]["itemName"] = CANARY
        self.item["offers"][0]["price"]["amount"] = "987.65"
        self.read("s2", T0 + timedelta(hours=1))
        assert ListingChange.objects.count() == 2
        stored = raw_table_bytes("listings_listingchange")
        for secret in (b"Zorblax", b"987.65"):
            assert secret not in stored
        assert self.asin.encode() in stored  # what queries filter on stays plain

    def test_a_plain_stock_move_stores_no_snapshot_and_a_stock_out_says_from_how_many(self):
        def stock(quantity: int) -> None:
            self.item["fulfillmentAvailability"] = [
                {"fulfillmentChannelCode": "DEFAULT", "quantity": quantity}
            ]

        stock(12)
        self.read("s1", T0)
        stock(3)
        self.read("s2", T0 + timedelta(hours=1))
        assert ListingSnapshot.objects.count() == 1
        stock(0)
        self.read("s3", T0 + timedelta(hours=2))
        assert ListingSnapshot.objects.count() == 2
        assert self.changes() == [
            ("mfn_stock", None, {"action": "out_of_stock", "before": 3, "after": 0})
        ]
        stock(20)
        self.read("s4", T0 + timedelta(hours=3))
        assert self.changes()[-1] == (
            "mfn_stock",
            None,
            {"action": "back_in_stock", "before": 0, "after": 20},
        )
