from django.utils import timezone

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import REVOKED_WORDS
from cvrtracker.test import BaseTestCase


def make_connection(team, seller_id: str, **fields) -> SellerConnection:
    connection = SellerConnection(team=team, region="NA", selling_partner_id=seller_id, **fields)
    connection.create_data_key()
    connection.store_name_enc = connection.seal("store_name", f"Store {seller_id}")
    connection.save()
    return connection


class SettingsPageTestCase(BaseTestCase):
    def test_it_lists_the_teams_connections(self):
        make_connection(
            self.team,
            "A1ALICE",
            marketplaces=[{"id": "ATVPDKIKX0DER", "name": "Amazon.com"}],
            marketplaces_synced_at=timezone.now(),
        )
        make_connection(self.team, "A2REVOKED", status="revoked", last_error=REVOKED_WORDS)
        make_connection(self.charlies_team, "A3CHARLIE")
        self.client.force_login(self.alice)
        response = self.client.get("/amazon/")
        self.assertContains(response, "Store A1ALICE")
        self.assertContains(response, "Amazon.com")
        self.assertContains(response, "Access revoked")
        self.assertContains(response, "Reconnect the account")
        self.assertContains(response, "Reconnect</a>")
        self.assertContains(response, "Connect Europe")
        self.assertNotContains(response, "A3CHARLIE")

    def test_members_see_but_cannot_change(self):
        make_connection(self.team, "A1ALICE")
        self.client.force_login(self.bob)
        response = self.client.get("/amazon/")
        self.assertContains(response, "Store A1ALICE")
        self.assertNotContains(response, "Disconnect")
        self.assertContains(response, "Only the team owner")

    def test_outsiders_see_only_their_own(self):
        make_connection(self.team, "A1ALICE")
        self.client.force_login(self.charlie)
        self.assertNotContains(self.client.get("/amazon/"), "A1ALICE")

    def test_unverified_owners_are_told_to_confirm_first(self):
        self.alice.email_verified_at = None
        self.alice.save()
        self.client.force_login(self.alice)
        self.assertContains(self.client.get("/amazon/"), "Confirm your email address")


class BackfillProgressTestCase(BaseTestCase):
    def test_it_shows_the_backfill_as_a_progress_bar(self):
        from datetime import date, timedelta

        from cvrtracker.amazon.models import SalesTrafficDay, SellerConnection

        connection = SellerConnection.objects.create(
            team=self.team, region="NA", selling_partner_id="A1PROGRESS"
        )
        for n in range(4):
            SalesTrafficDay.objects.create(
                connection=connection,
                marketplace_id="ATVPDKIKX0DER",
                day=date(2026, 11, 1) - timedelta(days=n),
                status=["done", "cancelled", "due", "fatal"][n],
            )
        self.client.force_login(self.alice)
        page = self.client.get("/amazon/")
        self.assertContains(page, 'value="2" max="4"')
        self.assertContains(page, "2 of 4 days (50%)")
        self.assertContains(page, "could not prepare 1 daily report yet")
        assert b"style=" not in page.content


class TrackedProductsTestCase(BaseTestCase):
    def test_it_says_how_many_products_are_tracked_and_links_to_them(self):
        from cvrtracker.listings.models import Listing
        from cvrtracker.listings.tests.helpers import admit, items

        connection = make_connection(self.team, "A1ALICE")
        admit(connection, items(3))
        Listing.objects.filter(sku="SKU-0002").update(tracking=Listing.Tracking.OVER_LIMIT)
        self.client.force_login(self.bob)
        page = self.client.get("/amazon/")
        self.assertContains(page, "Tracking 2 of 3 products.")
        self.assertContains(page, f'href="/amazon/{connection.code}/products/"')
        # The trial has room: the waiting product is tracked at the next sync.
        self.assertContains(page, "1 more product will be tracked at the next listings sync.")
        self.assertNotContains(page, "See the plans")

    def test_an_account_without_listings_says_nothing_about_tracking(self):
        make_connection(self.team, "A1ALICE")
        self.client.force_login(self.alice)
        self.assertNotContains(self.client.get("/amazon/"), "Tracking")
