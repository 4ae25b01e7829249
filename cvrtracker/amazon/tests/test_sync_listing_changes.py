"""Issue 9's "done when": changes made on the simulator come out of the listings sync as
exactly those field-level changes, each once, with their before and after, on the
marketplace day of the sync that saw them; a second sync adds nothing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from cvrtracker.amazon.marketplaces import marketplace_day
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.lib import clock
from cvrtracker.listings.changes import listing_change_payload
from cvrtracker.listings.models import Listing, ListingChange, ListingSnapshot
from cvrtracker.listings.services import listing_content
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller, run_until_done

US = "ATVPDKIKX0DER"


@pytest.mark.slow
class ListingChangesSyncTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, monkeypatch):
        # The tracker's clock does not follow the simulator's yet (the clock-replay work
        # of issue 9 does that): bind it here, so that snapshots and changes are dated on
        # the simulator's calendar as they will be once it does.
        monkeypatch.setattr(clock, "now", sync_sim.sim.world.clock.now)
        self.sim = sync_sim
        self.sim_client = SimClient(sync_sim)
        self.seller = sync_sim.world.sellers[0]
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        connection_sync(connection=self.connection)
        self.product = self.seller.products[0]

    def setUp(self):
        super().setUp()
        self.first = self.sync()

    def sync(self) -> Listing:
        run_until_done(SyncJob.objects.get(kind=SyncJob.Kind.LISTINGS))
        return Listing.objects.get(sku=self.product.sku, marketplace_id=US)

    def change(self, **body) -> dict:
        answer = self.sim_client.post(
            f"/_sim/sellers/{self.seller.id}/listings/{self.product.sku}", json_body=body
        )
        assert answer.status == 200, answer.body
        return answer.json()

    def stored_changes(self) -> list[tuple]:
        keys = ConnectionKeys(self.connection)
        return [
            (change, listing_change_payload(change=change, keys=keys))
            for change in ListingChange.objects.order_by("field", "position")
        ]

    def test_a_title_a_bullet_the_main_image_and_the_price_come_out_once_each(self):
        before = listing_content(connection=self.connection, listing=self.first)
        first_seen = self.first.content_seen_at
        # The detail page shows content edits an hour later; the price moves at once.
        delay = {"catalogDelaySeconds": 3600}
        title = self.change(field="title", value="Brand New Title, Now Better", **delay)
        bullet = self.change(field="bullet", index=1, value="A rewritten second bullet", **delay)
        image = self.change(field="image", variant="MAIN", **delay)
        price = self.change(field="price", value="12.34")
        # From about noon UTC to 02:00 UTC two days later: still the day before in Seattle.
        moved = self.sim_client.post("/_sim/clock", json_body={"days": 1, "hours": 14}).json()

        listing = self.sync()
        snapshot = listing.latest_snapshot()
        stored = self.stored_changes()
        by_field = {change.field: (change, payload) for change, payload in stored}
        assert sorted(by_field) == ["bullet", "main_image", "price", "title"]
        assert len(stored) == 4  # each once, and nothing else on any listing

        assert by_field["title"][1] == {
            "action": "edited",
            "before": before["title"],
            "after": "Brand New Title, Now Better",
        }
        assert title["old"] == before["title"]
        bullet_change, bullet_payload = by_field["bullet"]
        assert bullet_change.position == 2
        assert bullet_payload == {
            "action": "edited",
            "before": before["bullets"][1],
            "after": "A rewritten second bullet",
        }
        assert bullet["old"] == before["bullets"][1]
        image_payload = by_field["main_image"][1]
        assert image_payload["action"] == "edited"
        assert image_payload["before"] == before["images"][0]["link"]
        assert image_payload["before"].endswith(f"/images/I/{image['old']}.jpg")
        assert image_payload["after"].endswith(f"/images/I/{image['new']}.jpg")
        old_amount = Decimal(before["price"]["amount"])
        assert by_field["price"][1] == {
            "action": "changed",
            "before": before["price"],
            "after": {"amount": "12.34", "currency": "USD"},
            "pct": round(float((Decimal("12.34") - old_amount) / old_amount * 100), 2),
        }
        assert price["new"] == 1234

        # Dated on the US marketplace's day of the sync that saw them (the simulator's
        # day after the first sync's), and between that sync and the one before.
        day = datetime.fromisoformat(moved["marketplaceToday"][US]).date()
        assert day == marketplace_day(US, snapshot.taken_at)
        assert day != marketplace_day(US, first_seen)
        assert day != snapshot.taken_at.date()  # the marketplace's day, not UTC's
        changed_at = datetime.fromisoformat(title["at"].replace("Z", "+00:00"))
        for change, _ in stored:
            assert change.day == day
            assert change.source == ListingChange.Source.OBSERVED
            assert (change.listing_id, change.snapshot_id) == (listing.pk, snapshot.pk)
            assert (change.seen_after, change.seen_at) == (first_seen, snapshot.taken_at)
            # (The simulator gives the edit's time to the second.)
            assert change.seen_after.replace(microsecond=0) <= changed_at < change.seen_at
            assert (change.asin, change.sku) == (self.product.asin, self.product.sku)

        # The next sync reads everything again and adds nothing.
        snapshots = ListingSnapshot.objects.count()
        again = self.sync()
        assert ListingChange.objects.count() == 4
        assert ListingSnapshot.objects.count() == snapshots
        assert again.content_seen_at > listing.content_seen_at

    def test_a_stock_out_a_suppression_and_their_end_are_changes_a_stock_move_is_not(self):
        assert not self.product.fba  # merchant-fulfilled: its stock is in the listing
        self.change(field="quantity", value=3)
        self.sim_client.post("/_sim/clock", json_body={"hours": 1})
        self.sync()
        assert ListingChange.objects.count() == 0  # stock moved, still in stock
        self.change(field="quantity", value=0)
        self.change(field="issue", value="suppress")
        self.sim_client.post("/_sim/clock", json_body={"hours": 1})
        self.sync()
        got = {change.field: payload for change, payload in self.stored_changes()}
        assert sorted(got) == ["issue", "mfn_stock", "status"]
        assert got["mfn_stock"] == {"action": "out_of_stock", "before": 3, "after": 0}
        assert got["issue"]["action"] == "appeared" and got["issue"]["before"] is None
        assert got["issue"]["after"]["code"] == "90220"
        assert (got["issue"]["severity"], got["issue"]["suppresses"]) == ("ERROR", True)
        assert got["status"] == {
            "action": "changed",
            "before": ["BUYABLE", "DISCOVERABLE"],
            "after": [],
        }
        self.change(field="quantity", value=25)
        self.change(field="issue", value=None)
        self.sim_client.post("/_sim/clock", json_body={"hours": 1})
        self.sync()
        assert ListingChange.objects.count() == 6
        latest = ListingChange.objects.order_by("-id")[:3]
        keys = ConnectionKeys(self.connection)
        assert sorted(
            (c.field, listing_change_payload(change=c, keys=keys)["action"]) for c in latest
        ) == [("issue", "cleared"), ("mfn_stock", "back_in_stock"), ("status", "changed")]
