"""The replay command: the simulator's past days lived through by the real sync, a day at a time."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from cvrtracker.amazon import client
from cvrtracker.amazon.marketplaces import marketplace_day
from cvrtracker.amazon.models import DataKioskQuery, SalesTrafficDay, SellerConnection, SyncJob
from cvrtracker.amazon.ratelimit import memory_reset
from cvrtracker.lib import clock
from cvrtracker.listings.models import Listing, ListingSnapshot
from cvrtracker.listings.services import snapshot_content
from cvrtracker.simulator.testing import TEST_TODAY, SimClient, running_simulator
from cvrtracker.test import BaseTestCase

from .conftest import point_settings_at
from .helpers import connect_seller

US = "ATVPDKIKX0DER"
# Enough for product 8's scripted bullet (8 days before the present) to fall inside.
DAYS = 10
ONE_DAY = timedelta(days=1)


def replay_settings(settings, sim) -> None:
    point_settings_at(settings, sim)
    settings.AMAZON_RATELIMIT_STORAGE = "memory"
    settings.AMAZON_REPORT_POLL_SECONDS = 0.2
    memory_reset()


@pytest.fixture
def past_sim(settings):
    """A 20-product, US-only world whose clock starts 14 days before its present, and
    the tracker's clock bound to it."""
    with (
        running_simulator(
            asins=20, marketplaces=1, start_days_ago=DAYS, st_budget=False, quota="relaxed"
        ) as server,
        clock.following(server.world.clock.now),
    ):
        replay_settings(settings, server)
        yield server
    client._http.cache_clear()


class ReplayTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, past_sim):
        self.sim = past_sim
        self.connection = connect_seller(past_sim, team=self.team, user=self.alice)

    def replay(self, **options) -> str:
        out = StringIO()
        call_command("amazon_replay", stdout=out, verbosity=2, **options)
        return out.getvalue()

    def test_it_syncs_late_in_each_day_and_stops_at_the_present(self):
        world = self.sim.world
        out = self.replay()
        # The clock has caught up: it is at its present, not past it.
        present = world.clock.present()
        assert abs((world.clock.now() - present).total_seconds()) < 5
        assert abs((clock.now() - present).total_seconds()) < 5
        lines = [line for line in out.splitlines() if ": synced at " in line]
        days = [line.split(":", 1)[0] for line in lines]
        first = TEST_TODAY - timedelta(days=DAYS)
        assert days == [str(first + timedelta(days=n)) for n in range(DAYS)]
        # Each day's sync ran late in that day, in the US (Brazil, listed as participating,
        # is in the first day's set until the listings run finds nothing there).
        for line, day in zip(lines[1:], days[1:], strict=True):
            at = datetime.strptime(line.split("synced at ")[1][:16], "%Y-%m-%d %H:%M")
            local = at.replace(tzinfo=UTC)
            assert str(marketplace_day(US, local)) == day
            assert str(marketplace_day(US, local + timedelta(minutes=31))) != day
        assert f"Replayed {DAYS} days" in out
        # The last run was the last evening's, or the present's when the sweep interval
        # (LISTINGS_SWEEP_MINUTES, hourly) made it due again by then; the scheduler takes
        # over from there.
        listings = SyncJob.objects.get(connection=self.connection, kind=SyncJob.Kind.LISTINGS)
        evening = max(
            datetime.strptime(line.split("synced at ")[1][:16], "%Y-%m-%d %H:%M") for line in lines
        ).replace(tzinfo=UTC)
        if evening + timedelta(minutes=settings.LISTINGS_SWEEP_MINUTES) <= present:
            assert present - timedelta(minutes=5) <= listings.last_success_at <= present
        else:
            assert str(marketplace_day(US, listings.last_success_at)) == days[-1]
        assert listings.next_run_at > present - timedelta(minutes=1)
        assert Listing.objects.filter(connection=self.connection).count() == 20

    def test_the_history_holds_a_change_on_the_day_it_was_made(self):
        # Product 8's first bullet is rewritten 8 days before the present (scenarios.SCRIPT).
        self.replay()
        product = self.sim.world.sellers[0].products[8]
        change = next(c for c in product.changes if c.field == "bullet:0")
        listing = Listing.objects.get(connection=self.connection, sku=product.sku)
        snapshots = list(ListingSnapshot.objects.filter(listing=listing).order_by("taken_at"))
        changed_day = marketplace_day(US, change.catalog_at)
        before = [s for s in snapshots if marketplace_day(US, s.taken_at) < changed_day]
        after = [s for s in snapshots if marketplace_day(US, s.taken_at) == changed_day]
        assert before and after

        def first_bullet(snapshot):
            return snapshot_content(connection=self.connection, snapshot=snapshot)["bullets"][0]

        assert first_bullet(before[-1]) == change.old
        assert first_bullet(after[0]) == change.value

    def test_metrics_are_planned_once_at_the_present(self):
        self.replay()
        present_day = marketplace_day(US, clock.now())
        # Data Kiosk's two years end yesterday, not on the first replayed day.
        ends = set(DataKioskQuery.objects.values_list("end_day", flat=True))
        assert ends == {present_day - timedelta(days=1)}
        newest = SalesTrafficDay.objects.order_by("-day").first()
        assert newest.day == present_day - timedelta(days=1)

    def test_a_second_replay_has_nothing_left_to_do(self):
        self.replay()
        out = self.replay()
        assert "nothing to replay" in out

    def test_it_replays_only_the_last_days_asked_for(self):
        out = self.replay(days=3)
        assert "Replayed 3 days" in out

    def test_it_starts_after_the_last_sync_of_a_connection(self):
        # A tracker that synced later than the (restarted) simulator's clock is not
        # taken back in time: the replay starts from its last sync.
        later = self.sim.world.clock.now() + timedelta(days=DAYS - 4, hours=1)
        SellerConnection.objects.filter(pk=self.connection.pk).update(listings_synced_at=later)
        out = self.replay()
        assert "Replayed 4 days" in out


class ReplayRefusalTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, past_sim, settings):
        self.sim, self.settings = past_sim, settings
        connect_seller(past_sim, team=self.team, user=self.alice)

    def test_it_refuses_production_settings(self):
        self.settings.AMAZON_PRODUCTION = True
        with pytest.raises(CommandError, match="never runs against Amazon"):
            call_command("amazon_replay", stdout=StringIO())
        assert SimClient(self.sim).get("/_sim/clock").json()["behindSeconds"] > 86400

    def test_it_refuses_an_amazon_url_off_this_machine(self):
        self.settings.AMAZON_SPAPI_URLS = {
            **self.settings.AMAZON_SPAPI_URLS,
            "EU": "https://sellingpartnerapi-eu.amazon.com",
        }
        with pytest.raises(CommandError, match="not a simulator on this machine"):
            call_command("amazon_replay", stdout=StringIO())

    def test_it_refuses_a_tracker_on_the_system_clock(self):
        self.settings.TRACKER_CLOCK = "system"
        with clock.following(None), pytest.raises(CommandError, match="TRACKER_CLOCK"):
            call_command("amazon_replay", stdout=StringIO())


# -- every change in the replayed window, and nothing else --------------------------------

WINDOW = 31
WARNING_ISSUE = {
    "code": "18027",
    "message": "The image does not meet our requirements.",
    "severity": "WARNING",
    "attributeNames": ["main_product_image_locator"],
    "categories": ["INVALID_ATTRIBUTE"],
}
CONTENT = {"title": "title", "description": "description", "bullet": "bullet"}


@pytest.fixture
def window_sim(settings):
    """past_sim over 31 days: the scripted stories of the last month happen in it."""
    with (
        running_simulator(
            asins=20, marketplaces=1, start_days_ago=WINDOW, st_budget=False, quota="relaxed"
        ) as server,
        clock.following(server.world.clock.now),
    ):
        replay_settings(settings, server)
        yield server
    client._http.cache_clear()


def add_changes(world, seller, start) -> None:
    """Changes of every kind on the products the script leaves alone (10 to 19), at seeded
    moments of the window, with the world's own catalog lags (3 to 48 h, 5% never shown)."""
    rng = random.Random(9)  # noqa: S311 - test data, not secrets
    day = timedelta(days=1)

    def at(low: float, high: float):
        return start + timedelta(seconds=rng.uniform(low, high) * 86400)

    products = seller.products
    edits = [
        (10, "title", lambda p: f"{world.base_copy(seller, p)['title']} - Improved"),
        (11, "description", lambda p: "A new description, written for the replay test."),
        (12, "bullet:3", lambda p: "A fourth bullet rewritten for the replay test."),
        (13, "image:MAIN", lambda p: world.image(seller, p, "MAIN", 5)),
        (14, "image:PT01", lambda p: world.image(seller, p, "PT01", 5)),
        (15, "price", lambda p: p.launch_price_cents // 100 * 90 - 1),
        (16, "title", lambda p: f"{world.base_copy(seller, p)['title']} (2-pack)"),
    ]
    for index, name, value in edits:
        p = products[index]
        world.add_change(seller, p, name=name, value=value(p), at=at(1, WINDOW - 3))
    # A stock-out and its end, an inactive spell, a warning that comes and goes.
    for index, name, out, back in (
        (17, "quantity", 0, None),
        (18, "status", "INACTIVE", "ACTIVE"),
        (19, "issue", WARNING_ISSUE, None),
    ):
        p = products[index]
        begin = at(1, WINDOW - 8)
        world.add_change(seller, p, name=name, value=out, at=begin)
        end_value = p.base_quantity if name == "quantity" else back
        world.add_change(seller, p, name=name, value=end_value, at=begin + day * rng.uniform(2, 5))


def expected_changes(row: dict, product, base_url: str) -> list[tuple]:
    """(field, position, action, before, after) the tracker must observe for one ground
    truth change; None in a slot: not compared. Status changes that follow from stock,
    status and suppressions are matched separately."""
    kind, _, arg = row["field"].partition(":")
    old, new = row["old"], row["new"]

    def link(image_id):
        return f"{base_url}/images/I/{image_id}.jpg"

    def money(cents):
        return {"amount": f"{cents / 100:.2f}", "currency": "USD"}

    if kind in ("title", "description"):
        return [(kind, None, "edited", old, new)]
    if kind == "bullet":
        return [("bullet", int(arg) + 1, "edited", old, new)]
    if kind == "image" and arg == "MAIN":
        return [("main_image", None, "edited", link(old), link(new))]
    if kind == "image":
        return [("image", int(arg[2:]), "edited", link(old), link(new))]
    if kind == "price":
        return [("price", None, "changed", money(old), money(new))]
    if kind == "quantity" and (old > 0) != (new > 0):
        # FBA stock is read from the inventory (its fulfillable quantity), merchant stock
        # from the listing; the status change that follows is matched separately.
        action = "out_of_stock" if new <= 0 else "back_in_stock"
        return [("fba_stock" if product.fba else "mfn_stock", None, action, old, new)]
    if kind == "issue":
        issue = new or old
        return [("issue", None, "appeared" if new else "cleared", None, None, issue["code"])]
    return []


def moves_status(row: dict) -> bool:
    """True when the change moves the listing's Amazon status (BUYABLE, DISCOVERABLE)."""
    kind = row["field"]
    if kind == "quantity":
        return (row["old"] > 0) != (row["new"] > 0)
    if kind == "status":
        return True
    if kind == "issue":
        return any(
            a.get("action") in ("SEARCH_SUPPRESSED", "LISTING_SUPPRESSED")
            for issue in (row["old"], row["new"])
            if issue
            for a in (issue.get("enforcements") or {}).get("actions", [])
        )
    return False


@pytest.mark.slow
class ReplayGroundTruthTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, window_sim):
        self.sim = window_sim

    def test_every_change_of_the_window_is_found_and_nothing_else(self):
        from cvrtracker.listings.changes import listing_change_payload
        from cvrtracker.listings.models import ListingChange
        from cvrtracker.metrics.keys import ConnectionKeys

        world = self.sim.world
        seller = world.sellers[0]
        add_changes(world, seller, world.clock.now())
        connection = connect_seller(self.sim, team=self.team, user=self.alice)
        self.replay_all()
        keys = ConnectionKeys(connection)
        listings = {
            row.sku: row for row in Listing.objects.filter(connection=connection, marketplace_id=US)
        }
        first_seen = {
            listing.sku: ListingSnapshot.objects.filter(listing=listing)
            .order_by("taken_at")
            .first()
            .taken_at
            for listing in listings.values()
        }
        observed = [
            (change, listing_change_payload(change=change, keys=keys))
            for change in ListingChange.objects.filter(connection=connection, source="observed")
        ]
        truth = world.ground_truth(seller)
        explained: set[int] = set()
        checked: list[str] = []
        for row in truth:
            product = seller.product(row["sku"])
            shown = datetime.fromisoformat((row["catalogAt"] or row["at"]).replace("Z", "+00:00"))
            listing = listings[row["sku"]]
            if not first_seen[row["sku"]] < shown <= listing.content_seen_at:
                continue  # before tracking began, or not seen yet
            wanted = expected_changes(row, product, self.sim.base_url)
            if not row["reachesCatalog"]:
                wanted = []  # the detail page never shows it: no change for shoppers
            # Only the Buy Box (not on the listing: derived from the metrics) and edits the
            # detail page never shows leave the listing as it was.
            assert (
                wanted
                or moves_status(row)
                or row["field"] == "buy_box"
                or not row["reachesCatalog"]
            ), row
            checked.append(row["field"])
            for field, position, action, before, after, *code in wanted:
                match = [
                    change
                    for change, payload in observed
                    if change.sku == row["sku"]
                    and change.field == field
                    and change.position == position
                    and payload["action"] == action
                    and (before is None or payload["before"] == before)
                    and (after is None or payload["after"] == after)
                    and (not code or (payload["after"] or payload["before"])["code"] == code[0])
                    and change.seen_after < shown <= change.seen_at
                ]
                assert len(match) == 1, (row, field, match)
                change = match[0]
                explained.add(change.pk)
                # Dated on the day the detail page showed it, or the next one when it
                # showed in the last half hour before midnight, after that day's sync.
                effective = date.fromisoformat(row["effectiveDate"])
                assert change.day == marketplace_day(US, change.seen_at)
                # Within a day of it: 25 hours when the clocks go back (1 Nov 2026 in the US).
                assert change.seen_at - shown < timedelta(hours=25)
                late = marketplace_day(US, shown + timedelta(minutes=31)) != effective
                assert change.day == effective or (late and change.day == effective + ONE_DAY)
            if moves_status(row):
                match = [
                    change
                    for change, _ in observed
                    if change.sku == row["sku"]
                    and change.field == "status"
                    and change.seen_after < shown <= change.seen_at
                ]
                assert len(match) == 1, (row, match)
                explained.add(match[0].pk)
        unexplained = [(c.sku, c.field, c.day, p) for c, p in observed if c.pk not in explained]
        assert unexplained == []
        # The month's scripted stories and the added changes, of every kind, were in it.
        kinds = {field.partition(":")[0] for field in checked}
        assert kinds == {
            "title",
            "description",
            "bullet",
            "image",
            "price",
            "quantity",
            "status",
            "issue",
            "buy_box",
        }, kinds
        assert len(checked) >= 20, checked

    def replay_all(self) -> None:
        call_command("amazon_replay", stdout=StringIO())
