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
        # Issue 12: a revoked account is stopped and its data is being deleted.
        self.assertContains(response, "Access revoked or expired at Amazon, seen on")
        self.assertContains(response, "data being deleted")
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


class RecentDaysTestCase(BaseTestCase):
    def test_it_shows_the_recent_days_the_budget_and_refused_marketplaces(self):
        from datetime import timedelta

        from cvrtracker.amazon.marketplaces import marketplace_today
        from cvrtracker.amazon.models import ST_REFUSED, SalesTrafficDay

        connection = make_connection(
            self.team,
            "A1PROGRESS",
            marketplaces=[
                {"id": "ATVPDKIKX0DER", "name": "Amazon.com", "isParticipating": True},
                {
                    "id": "A28R8C7NBKEWEA",
                    "name": "Amazon.ie",
                    "isParticipating": True,
                    ST_REFUSED: "400 InvalidInput",
                },
                # Participating, never opened: nothing listed, its rows are not counted.
                {"id": "A2Q3Y263D00KWC", "name": "Amazon.com.br", "listedSkus": 0},
            ],
        )
        SalesTrafficDay.objects.create(
            connection=connection,
            marketplace_id="A2Q3Y263D00KWC",
            day=marketplace_today("A2Q3Y263D00KWC") - timedelta(days=1),
            status="given_up",
        )
        today = marketplace_today("ATVPDKIKX0DER")
        for n, status in enumerate(["done", "cancelled", "due", "fatal", "given_up"], start=1):
            SalesTrafficDay.objects.create(
                connection=connection,
                marketplace_id="ATVPDKIKX0DER",
                day=today - timedelta(days=n),
                status=status,
            )
        # A day of the old two-year plan is outside the recent days.
        SalesTrafficDay.objects.create(
            connection=connection,
            marketplace_id="ATVPDKIKX0DER",
            day=today - timedelta(days=400),
            status="done",
        )
        self.client.force_login(self.alice)
        page = self.client.get("/amazon/")
        self.assertContains(page, 'value="2" max="5"')
        self.assertContains(page, "2 of 5 days (40%)")
        self.assertContains(page, "could not prepare 1 daily report yet")
        self.assertContains(page, "1 day could not be fetched by report")
        self.assertContains(page, "0 of 24 Sales &amp; Traffic reports in the last 24 hours")
        self.assertContains(page, "The next one may go now.")
        self.assertContains(
            page,
            "Amazon does not offer Sales &amp; Traffic reports in Amazon.ie (400 InvalidInput)",
        )
        assert b"style=" not in page.content

    def test_it_shows_the_progress_of_the_two_year_history(self):
        from datetime import date, timedelta

        from django.utils import timezone

        from cvrtracker.amazon.models import DataKioskQuery

        connection = make_connection(self.team, "A1HISTORY")
        retry_at = timezone.now() + timedelta(minutes=5)
        rows = [("done", None), ("done", None), ("due", retry_at), ("fatal", retry_at)]
        rows.append(("failed", None))  # given up after its attempts
        for n, (status, next_at) in enumerate(rows):
            DataKioskQuery.objects.create(
                connection=connection,
                marketplace_id="ATVPDKIKX0DER",
                kind="trends",
                chunk_key=str(n),
                start_day=date(2024, 12, 1),
                end_day=date(2026, 11, 29),
                status=status,
                next_attempt_at=next_at,
            )
        self.client.force_login(self.bob)
        page = self.client.get("/amazon/")
        self.assertContains(page, "Two-year history by product (Amazon's Data Kiosk, 5 queries)")
        self.assertContains(page, "2 done (40%)")
        self.assertContains(page, 'value="2" max="5"')
        self.assertContains(page, "Amazon could not answer 1 query yet")
        self.assertContains(page, "1 query failed after several tries")

    def test_an_app_wide_budget_says_so(self):
        make_connection(self.team, "A1APP")
        self.client.force_login(self.alice)
        with self.settings(AMAZON_ST_BUDGET_SCOPE="app"):
            page = self.client.get("/amazon/")
        self.assertContains(page, "Amazon allows CVR Tracker 96 a day across all its sellers")


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
