"""The products page of a seller account: every product, tracked or not, and the toggles."""

from __future__ import annotations

import re

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.billing.tests.conftest import stripe_server  # noqa: F401 - fixture
from cvrtracker.listings.models import Listing
from cvrtracker.listings.tests.helpers import PlanTestCase, admit, item, items, make_connection


class ProductsPageTestCase(PlanTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(
            self.team, "A1ALICE", marketplaces=[{"id": "ATVPDKIKX0DER", "name": "Amazon.com"}]
        )
        self.url = f"/amazon/{self.connection.code}/products/"

    def get(self, user=None, query=""):
        self.client.force_login(user or self.alice)
        return self.client.get(self.url + query)

    def test_it_lists_tracked_and_untracked_products_with_their_toggles(self):
        admit(self.connection, [item("SKU-1", "B0TRACKED1", title="Blue Kettle")])
        admit(self.connection, [item("SKU-2", "B0STOPPED2", title="Red Kettle")])
        stopped = Listing.objects.get(sku="SKU-2")
        Listing.objects.filter(pk=stopped.pk).update(tracking=Listing.Tracking.STOPPED)
        page = self.get()
        self.assertContains(page, "Tracking 1 of 2 products.")
        self.assertContains(page, "Blue Kettle")
        self.assertContains(page, "Red Kettle")
        self.assertContains(page, "Amazon.com")
        # Stopping is a link to a confirmation step; tracking again is one click.
        tracked = Listing.objects.get(sku="SKU-1")
        self.assertContains(
            page, f'href="/amazon/products/{tracked.code}/tracking/">Stop tracking…</a>', count=1
        )
        self.assertContains(page, "Track</button>", count=1)
        self.assertContains(page, f'action="/amazon/products/{stopped.code}/tracking/"')
        forms = re.findall(
            r'action="/amazon/products/[^"]+/tracking/"[^>]*>\s*<input type="hidden" '
            r'name="csrfmiddlewaretoken"',
            page.content.decode(),
        )
        self.assertEqual(len(forms), 1)
        assert b"style=" not in page.content

    def test_it_filters_by_tracking(self):
        admit(self.connection, [item("SKU-1", "B0TRACKED1"), item("SKU-2", "B0STOPPED2")])
        Listing.objects.filter(sku="SKU-2").update(tracking=Listing.Tracking.OVER_LIMIT)
        tracked = self.get(query="?show=tracked")
        self.assertContains(tracked, "SKU-1")
        self.assertNotContains(tracked, "SKU-2")
        untracked = self.get(query="?show=untracked")
        self.assertContains(untracked, "SKU-2")
        self.assertNotContains(untracked, "SKU-1")
        self.assertContains(untracked, '<input type="hidden" name="show" value="untracked">')

    def test_it_pages_through_many_products(self):
        admit(self.connection, items(101))
        self.assertNotContains(self.get(), "SKU-0100")
        second = self.get(query="?page=2")
        self.assertContains(second, "SKU-0100")
        self.assertContains(second, "Page 2 of 2")
        self.assertRegex(second.content.decode(), r'/tracking/\?page=2"|name="page" value="2"')

    def test_a_full_plan_shows_its_message_and_the_upgrade_link(self):
        self.put_on_starter()
        admit(self.connection, items(55))
        page = self.get()
        self.assertContains(page, "Tracking 50 of 55 products.")
        self.assertContains(page, "Your Starter plan tracks up to 50 products.")
        self.assertContains(page, '<a href="/billing/">See the plans</a>')

    def test_teammates_may_change_tracking(self):
        admit(self.connection, items(1))
        self.assertContains(self.get(self.bob), "Stop tracking…</a>")

    def test_a_read_only_team_sees_its_products_without_toggles(self):
        self.put_on_starter()
        admit(self.connection, items(1))
        self.end_subscription()
        page = self.get()
        self.assertContains(page, "SKU-0000")
        self.assertNotContains(page, "/tracking/")
        self.assertNotContains(page, "Stop tracking")

    def test_a_disconnected_account_is_gone_before_its_purge(self):
        # Issue 12: from the disconnect on, its data key is destroyed and its data is
        # being purged; the page no longer exists (it showed the SKUs before).
        admit(self.connection, items(1))
        SellerConnection.objects.filter(pk=self.connection.pk).update(
            status=SellerConnection.Status.DISCONNECTED
        )
        page = self.get()
        self.assertEqual(page.status_code, 404)
        self.assertNotContains(page, "SKU-0000", status_code=404)

    def test_outsiders_get_404(self):
        admit(self.connection, items(1))
        self.assertEqual(self.get(self.charlie).status_code, 404)
        theirs = make_connection(self.charlies_team, "A3CHARLIE")
        self.client.force_login(self.alice)
        self.assertEqual(self.client.get(f"/amazon/{theirs.code}/products/").status_code, 404)

    def test_it_flags_an_edit_not_live_after_the_days_set(self):
        from datetime import UTC, datetime, timedelta

        import time_machine

        admit(self.connection, [item("SKU-1", "B0WAITING1", title="Blue Kettle")])
        admit(self.connection, [item("SKU-2", "B0RECENT02", title="Red Kettle")])
        # 2 Dec 03:00 UTC is still 1 Dec in Seattle: the US marketplace's day.
        edited = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
        Listing.objects.filter(sku="SKU-1").update(
            pending_fields=["title"], edit_pending_since=edited
        )
        Listing.objects.filter(sku="SKU-2").update(
            pending_fields=["images"], edit_pending_since=edited + timedelta(days=1)
        )
        with time_machine.travel(edited + timedelta(days=3, minutes=5), tick=False):
            page = self.get()
            self.assertContains(page, "Your edit of 1 Dec is not live on the detail page yet.")
            self.assertContains(page, "is not live on the detail page yet.", count=1)
            self.assertEqual(self.get(self.charlie).status_code, 404)
        with time_machine.travel(edited + timedelta(days=2), tick=False):
            self.assertNotContains(self.get(), "not live")
