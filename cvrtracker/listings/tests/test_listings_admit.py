"""listings_admit: every listing recorded, new products tracked while the plan has room."""

from __future__ import annotations

import pytest

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.listings.models import Listing
from cvrtracker.listings.selectors import listings_titles, listings_tracked_count
from cvrtracker.listings.services import listing_tracking_set

from .helpers import (
    CA,
    STARTER_PRODUCTS,
    US,
    PlanTestCase,
    admit,
    item,
    items,
    make_connection,
    tracked_skus,
)

SIXTY = items(60)
FIRST_FIFTY = {i["sku"] for i in SIXTY[:STARTER_PRODUCTS]}


class AdmitTestCase(PlanTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, "A1ALICE")

    def admit_sixty(self, connection=None):
        # Three pages of 20, as the sync stores them.
        for start in range(0, 60, 20):
            admit(connection or self.connection, SIXTY[start : start + 20])

    def state(self, sku: str) -> str:
        return Listing.objects.get(connection=self.connection, sku=sku, marketplace_id=US).tracking

    def test_on_the_trial_every_new_listing_is_tracked_and_named(self):
        admitted = admit(self.connection, items(3))
        assert tracked_skus() == {"SKU-0000", "SKU-0001", "SKU-0002"}
        listing = admitted["SKU-0001"]
        assert (listing.asin, listing.status) == ("B000000001", Listing.Status.BUYABLE)
        titles = listings_titles(connection=self.connection, listings=[listing])
        assert titles == {listing.pk: "Item SKU-0001"}

    def test_products_beyond_the_limit_are_recorded_but_not_tracked(self):
        self.put_on_starter()
        self.admit_sixty()
        assert Listing.objects.count() == 60
        assert tracked_skus() == FIRST_FIFTY
        waiting = Listing.objects.exclude(sku__in=FIRST_FIFTY)
        assert set(waiting.values_list("tracking", flat=True)) == {Listing.Tracking.OVER_LIMIT}
        # The seller sees them: identifiers, status and title, but no content.
        row = waiting.get(sku="SKU-0055")
        assert row.asin == "B000000055" and row.status == Listing.Status.BUYABLE
        assert listings_titles(connection=self.connection, listings=[row])[row.pk]
        assert not row.content_enc
        assert listings_tracked_count(team=self.team) == STARTER_PRODUCTS

    def test_admitting_the_same_pages_again_changes_nothing(self):
        self.put_on_starter()
        self.admit_sixty()
        before = dict(Listing.objects.values_list("code", "tracking"))
        self.admit_sixty()
        assert dict(Listing.objects.values_list("code", "tracking")) == before
        assert tracked_skus() == FIRST_FIFTY

    def test_an_upgrade_tracks_the_waiting_products_at_the_next_sync(self):
        self.put_on_starter()
        self.admit_sixty()
        self.change_plan(pro=True)
        self.admit_sixty()
        assert len(tracked_skus()) == 60

    def test_a_smaller_plan_untracks_nothing_and_refuses_only_new_products(self):
        self.admit_sixty()  # on the trial: all 60 tracked
        self.put_on_starter()
        self.admit_sixty()
        assert len(tracked_skus()) == 60
        admit(self.connection, items(2, start=60))
        assert self.state("SKU-0060") == self.state("SKU-0061") == Listing.Tracking.OVER_LIMIT
        assert len(tracked_skus()) == 60

    def test_a_freed_place_goes_to_the_first_waiting_product_in_sku_order(self):
        self.put_on_starter()
        self.admit_sixty()
        stopped = Listing.objects.get(sku="SKU-0003")
        listing_tracking_set(listing=stopped, tracked=False, actor=self.alice)
        self.admit_sixty()
        assert tracked_skus() == FIRST_FIFTY - {"SKU-0003"} | {"SKU-0050"}
        # A product the seller stopped is never tracked again by the sync.
        assert self.state("SKU-0003") == Listing.Tracking.STOPPED

    def test_other_skus_and_marketplaces_of_a_tracked_asin_take_no_place(self):
        self.put_on_starter()
        self.admit_sixty()
        admit(self.connection, [item("SKU-0000-FBM", "B000000000")])
        admit(self.connection, [item("SKU-0000", "B000000000", market=CA)], market=CA)
        assert Listing.objects.filter(asin="B000000000", tracking="tracked").count() == 3
        assert listings_tracked_count(team=self.team) == STARTER_PRODUCTS
        # And a new SKU of a product still waiting waits with it.
        admit(self.connection, [item("SKU-0059-FBM", "B000000059")])
        assert self.state("SKU-0059-FBM") == Listing.Tracking.OVER_LIMIT

    def test_a_new_sku_of_a_stopped_product_stays_stopped(self):
        admit(self.connection, items(1))
        listing_tracking_set(
            listing=Listing.objects.get(sku="SKU-0000"), tracked=False, actor=self.alice
        )
        admit(self.connection, [item("SKU-0000-FBM", "B000000000")])
        assert self.state("SKU-0000-FBM") == Listing.Tracking.STOPPED

    def test_listings_without_an_asin_are_counted_by_sku(self):
        self.put_on_starter()
        admit(self.connection, items(49))
        admit(self.connection, [item("NEW-1"), item("NEW-2")])
        admit(self.connection, [item("NEW-1", market=CA)], market=CA)
        assert self.state("NEW-1") == Listing.Tracking.TRACKED
        assert self.state("NEW-2") == Listing.Tracking.OVER_LIMIT
        assert Listing.objects.get(sku="NEW-1", marketplace_id=CA).is_tracked
        assert listings_tracked_count(team=self.team) == STARTER_PRODUCTS

    def test_places_are_shared_by_the_teams_seller_accounts(self):
        self.put_on_starter()
        other = make_connection(self.team, "A2ALICE")
        admit(self.connection, items(30))
        admit(other, items(30))  # the same ASINs, but another account's products
        assert len(tracked_skus(self.connection)) == 30
        assert len(tracked_skus(other)) == 20

    def test_disconnected_accounts_and_other_teams_take_no_place(self):
        old = make_connection(self.team, "A2OLD")
        charlies = make_connection(self.charlies_team, "A3CHARLIE")
        self.admit_sixty(old)
        self.admit_sixty(charlies)
        SellerConnection.objects.filter(pk=old.pk).update(
            status=SellerConnection.Status.DISCONNECTED
        )
        self.put_on_starter()
        self.admit_sixty()
        assert tracked_skus(self.connection) == FIRST_FIFTY
        # The old account's rows are kept as they were.
        assert len(tracked_skus(old)) == 60

    def test_an_item_without_a_sku_is_refused(self):
        with pytest.raises(ValueError, match="sku"):
            admit(self.connection, [{"summaries": []}])
        assert not Listing.objects.exists()
