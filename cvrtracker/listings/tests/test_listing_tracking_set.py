"""listing_tracking_set: a seller starts or stops tracking a product, within the plan."""

from __future__ import annotations

import pytest

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.limits import PlanLimitError
from cvrtracker.listings.models import Listing
from cvrtracker.listings.selectors import listings_tracked_count
from cvrtracker.listings.services import listing_record_snapshot, listing_tracking_set

from .helpers import CA, STARTER_PRODUCTS, PlanTestCase, admit, item, items, make_connection


class TrackingSetTestCase(PlanTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, "A1ALICE")

    def listing(self, sku: str) -> Listing:
        return Listing.objects.select_related("connection__team").get(
            sku=sku, marketplace_id="ATVPDKIKX0DER"
        )

    def fill_starter(self):
        """Starter's 50 places taken, ten products waiting."""
        self.put_on_starter()
        admit(self.connection, items(60))

    def audited(self, action) -> list[str]:
        return list(
            AuditEntry.objects.filter(action=action, team=self.team, actor=self.alice).values_list(
                "target_code", flat=True
            )
        )

    def test_stopping_frees_a_place_that_tracking_another_takes(self):
        self.fill_starter()
        stopped = self.listing("SKU-0001")
        listing_record_snapshot(
            listing=stopped, item=item("SKU-0001"), catalog_item=None, sync_id="s1"
        )
        assert listing_tracking_set(listing=stopped, tracked=False, actor=self.alice) == 1
        assert stopped.tracking == self.listing("SKU-0001").tracking == Listing.Tracking.STOPPED
        assert listings_tracked_count(team=self.team) == STARTER_PRODUCTS - 1
        # Stopping only stops new snapshots: what was recorded stays.
        assert stopped.snapshots.count() == 1
        started = self.listing("SKU-0055")
        listing_tracking_set(listing=started, tracked=True, actor=self.alice)
        assert self.listing("SKU-0055").is_tracked
        assert self.audited(AuditEntry.Action.PRODUCT_UNTRACKED) == [str(stopped.code)]
        assert self.audited(AuditEntry.Action.PRODUCT_TRACKED) == [str(started.code)]

    def test_tracking_past_the_limit_is_refused_with_the_plan_message(self):
        self.fill_starter()
        with pytest.raises(PlanLimitError) as refused:
            listing_tracking_set(listing=self.listing("SKU-0055"), tracked=True, actor=self.alice)
        assert "Starter plan tracks up to 50 products" in refused.value.message
        assert refused.value.upgrade_url == "/billing/"
        assert self.listing("SKU-0055").tracking == Listing.Tracking.OVER_LIMIT
        assert not self.audited(AuditEntry.Action.PRODUCT_TRACKED)

    def test_it_applies_to_every_sku_and_marketplace_of_the_asin(self):
        admit(self.connection, [item("SKU-A", "B0AAAAAAAA"), item("SKU-A-FBM", "B0AAAAAAAA")])
        admit(self.connection, [item("SKU-A", "B0AAAAAAAA", market=CA)], market=CA)
        admit(self.connection, [item("SKU-B", "B0BBBBBBBB")])
        changed = listing_tracking_set(
            listing=self.listing("SKU-A"), tracked=False, actor=self.alice
        )
        assert changed == 3
        assert set(
            Listing.objects.filter(asin="B0AAAAAAAA").values_list("tracking", flat=True)
        ) == {Listing.Tracking.STOPPED}
        assert self.listing("SKU-B").is_tracked
        assert (
            listing_tracking_set(listing=self.listing("SKU-A-FBM"), tracked=True, actor=self.alice)
            == 3
        )

    def test_a_product_already_tracked_takes_no_place_and_writes_nothing(self):
        self.fill_starter()
        assert (
            listing_tracking_set(listing=self.listing("SKU-0000"), tracked=True, actor=self.alice)
            == 0
        )
        assert not self.audited(AuditEntry.Action.PRODUCT_TRACKED)

    def test_a_read_only_team_cannot_start_or_stop_tracking(self):
        self.fill_starter()
        self.end_subscription()
        for sku, tracked in (("SKU-0055", True), ("SKU-0000", False)):
            with pytest.raises(PlanLimitError) as refused:
                listing_tracking_set(listing=self.listing(sku), tracked=tracked, actor=self.alice)
            assert "read-only" in refused.value.message
            assert refused.value.upgrade_url == "/billing/"
        assert listings_tracked_count(team=self.team) == STARTER_PRODUCTS

    def test_a_disconnected_account_cannot_start_tracking(self):
        admit(self.connection, items(1))
        listing_tracking_set(listing=self.listing("SKU-0000"), tracked=False, actor=self.alice)
        SellerConnection.objects.filter(pk=self.connection.pk).update(
            status=SellerConnection.Status.DISCONNECTED
        )
        with pytest.raises(ValueError, match="Reconnect"):
            listing_tracking_set(listing=self.listing("SKU-0000"), tracked=True, actor=self.alice)
        assert self.listing("SKU-0000").tracking == Listing.Tracking.STOPPED
