"""POST /amazon/products/<code>/tracking/: Track and Stop tracking on the products page."""

from __future__ import annotations

from django.test import Client

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.tests.conftest import stripe_server  # noqa: F401 - fixture
from cvrtracker.listings.models import Listing
from cvrtracker.listings.tests.helpers import PlanTestCase, admit, items, make_connection


class ProductTrackingTestCase(PlanTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, "A1ALICE")
        self.products = f"/amazon/{self.connection.code}/products/"

    def listing(self, sku="SKU-0000") -> Listing:
        return Listing.objects.get(sku=sku)

    def post(self, listing, tracked: str, user=None, **extra):
        self.client.force_login(user or self.alice)
        url = f"/amazon/products/{listing.code}/tracking/"
        return self.client.post(url, {"tracked": tracked, **extra})

    def test_stopping_and_starting_again_return_to_the_products_page(self):
        admit(self.connection, items(1))
        response = self.post(self.listing(), "0")
        self.assertRedirects(response, self.products, fetch_redirect_response=False)
        self.assertEqual(self.listing().tracking, Listing.Tracking.STOPPED)
        page = self.client.get(self.products)
        self.assertContains(page, "Stopped tracking B000000000; its place in your plan is free.")
        self.post(self.listing(), "1")
        self.assertTrue(self.listing().is_tracked)
        entry = AuditEntry.objects.get(action=AuditEntry.Action.PRODUCT_TRACKED)
        self.assertEqual((entry.actor, entry.team), (self.alice, self.team))

    def test_it_keeps_the_filter_and_page(self):
        admit(self.connection, items(1))
        response = self.post(self.listing(), "0", show="tracked", page="3")
        self.assertRedirects(
            response, f"{self.products}?show=tracked&page=3", fetch_redirect_response=False
        )

    def test_teammates_may_change_tracking(self):
        admit(self.connection, items(1))
        self.post(self.listing(), "0", user=self.bob)
        self.assertEqual(self.listing().tracking, Listing.Tracking.STOPPED)

    def test_tracking_past_the_plan_is_refused_with_its_message_and_the_upgrade_link(self):
        self.put_on_starter()
        admit(self.connection, items(51))
        response = self.post(self.listing("SKU-0050"), "1")
        self.assertContains(
            response, "Your Starter plan tracks up to 50 products.", status_code=402
        )
        self.assertContains(response, 'href="/billing/">See the plans</a>', status_code=402)
        self.assertEqual(self.listing("SKU-0050").tracking, Listing.Tracking.OVER_LIMIT)

    def test_a_read_only_team_is_refused(self):
        self.put_on_starter()
        admit(self.connection, items(1))
        self.end_subscription()
        response = self.post(self.listing(), "0")
        self.assertContains(response, "read-only", status_code=402)
        self.assertTrue(self.listing().is_tracked)

    def test_a_disconnected_account_cannot_start_tracking(self):
        # Issue 12: a disconnected account's listings are gone at once (404), before
        # the purge deletes them.
        admit(self.connection, items(1))
        Listing.objects.update(tracking=Listing.Tracking.STOPPED)
        SellerConnection.objects.filter(pk=self.connection.pk).update(
            status=SellerConnection.Status.DISCONNECTED
        )
        response = self.post(self.listing(), "1")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(self.client.get(self.products).status_code, 404)
        self.assertEqual(self.listing().tracking, Listing.Tracking.STOPPED)

    def test_outsiders_get_404_and_change_nothing(self):
        admit(self.connection, items(1))
        self.assertEqual(self.post(self.listing(), "0", user=self.charlie).status_code, 404)
        self.assertTrue(self.listing().is_tracked)

    def test_it_wants_a_post_with_a_valid_choice_and_a_csrf_token(self):
        admit(self.connection, items(1))
        url = f"/amazon/products/{self.listing().code}/tracking/"
        self.client.force_login(self.alice)
        self.assertEqual(self.client.put(url).status_code, 405)
        self.assertEqual(self.post(self.listing(), "maybe").status_code, 400)
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(self.alice)
        self.assertEqual(strict.post(url, {"tracked": "0"}).status_code, 403)
        self.assertTrue(self.listing().is_tracked)

    def test_stopping_asks_first_and_says_it_will_not_restart_by_itself(self):
        admit(self.connection, items(1))
        listing = self.listing()
        url = f"/amazon/products/{listing.code}/tracking/"
        self.client.force_login(self.bob)
        page = self.client.get(url, {"show": "tracked", "page": "1"})
        self.assertContains(page, f"Stop tracking {listing.asin}?")
        self.assertContains(
            page,
            "A product you stop is never tracked again by itself; you can start it again here",
        )
        self.assertContains(page, f'<form method="post" action="{url}">')
        self.assertContains(page, '<input type="hidden" name="tracked" value="0">')
        self.assertContains(page, '<input type="hidden" name="show" value="tracked">')
        self.assertTrue(self.listing().is_tracked)
        # Confirmed: the page's form posts what the view acts on.
        response = self.client.post(url, {"tracked": "0", "show": "tracked"})
        self.assertRedirects(
            response,
            f"/amazon/{self.connection.code}/products/?show=tracked",
            fetch_redirect_response=False,
        )
        self.assertFalse(self.listing().is_tracked)

    def test_the_confirmation_of_an_untracked_product_goes_back_to_the_list(self):
        admit(self.connection, items(1))
        listing = self.listing()
        Listing.objects.filter(pk=listing.pk).update(tracking=Listing.Tracking.STOPPED)
        self.client.force_login(self.alice)
        response = self.client.get(f"/amazon/products/{listing.code}/tracking/")
        self.assertRedirects(
            response, f"/amazon/{self.connection.code}/products/", fetch_redirect_response=False
        )

    def test_outsiders_get_404_for_the_confirmation(self):
        admit(self.connection, items(1))
        self.client.force_login(self.charlie)
        response = self.client.get(f"/amazon/products/{self.listing().code}/tracking/")
        self.assertEqual(response.status_code, 404)
