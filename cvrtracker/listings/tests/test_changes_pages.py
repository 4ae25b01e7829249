"""The product's change history page and the account's recent changes page."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, unquote

from django.urls import reverse

from cvrtracker.audit.models import AuditEntry
from cvrtracker.lib import clock
from cvrtracker.test import BaseTestCase

from .history_helpers import Field, Source, seller_with_products, store

DAY = clock.today() - timedelta(days=5)


def product_url(listing) -> str:
    return reverse("listings:product_changes", args=[listing.code])


def account_url(connection) -> str:
    return reverse("listings:account_changes", args=[connection.code])


class ChangesPageTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection, self.kettle, self.mug = seller_with_products(self.team, "A1ALICE")
        self.client.force_login(self.alice)

    def reads(self) -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(action=AuditEntry.Action.CHANGES_READ))


class ProductChangesPageTests(ChangesPageTestCase):
    def test_it_shows_before_and_after_diffs_images_and_the_price_change(self):
        store(
            self.connection,
            listing=self.kettle,
            field=Field.TITLE,
            day=DAY,
            before="Blue Kettle 1L",
            after="Blue Kettle 1.5L",
        )
        store(
            self.connection,
            listing=self.kettle,
            field=Field.BULLET,
            position=2,
            day=DAY,
            before="Keeps tea hot for 6 hours.",
            after="Keeps tea hot for 12 hours.",
        )
        store(
            self.connection,
            listing=self.kettle,
            field=Field.MAIN_IMAGE,
            day=DAY,
            action="changed",
            before="https://m.media-amazon.com/images/I/old1.jpg",
            after="https://m.media-amazon.com/images/I/new2.jpg",
        )
        store(
            self.connection,
            listing=self.kettle,
            field=Field.PRICE,
            day=DAY,
            action="changed",
            before={"amount": "20.00", "currency": "USD"},
            after={"amount": "18.00", "currency": "USD"},
            pct=-10.0,
        )
        store(
            self.connection,
            listing=self.kettle,
            field=Field.FBA_STOCK,
            day=DAY,
            action="out_of_stock",
            before=12,
            after=0,
        )
        page = self.client.get(product_url(self.kettle))
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "Changes of B0KETTLE01")
        self.assertContains(
            page,
            '<span class="before">Blue Kettle 1L</span> → '
            '<span class="after">Blue Kettle 1.5L</span>',
            html=False,
        )
        self.assertContains(page, "Keeps tea hot for <del>6</del><ins>12</ins> hours.")
        self.assertContains(page, "Bullet point 2</strong> · Edited")
        self.assertContains(page, 'src="https://m.media-amazon.com/images/I/new2.jpg"')
        self.assertContains(page, "Before · old1.jpg")
        self.assertContains(
            page,
            '20.00 USD</span> → <span class="after">18.00 USD</span> <strong>(-10.00%)</strong>',
        )
        self.assertContains(page, '12 in stock</span> → <span class="after">0 in stock')
        self.assertContains(page, "FBA stock</strong> · Out of stock")
        # Seen between the previous sync (59 minutes before) and the one that saw it.
        self.assertContains(page, "between ")
        assert b"style=" not in page.content

    def test_inferred_and_derived_changes_are_marked_and_explained(self):
        store(
            self.connection,
            asin="B0KETTLE01",
            field=Field.PRICE,
            source=Source.INFERRED,
            day=DAY,
            action="changed",
            before={"amount": "20.00", "currency": "USD"},
            after={"amount": "22.00", "currency": "USD"},
            pct=10.0,
        )
        store(
            self.connection,
            listing=self.kettle,
            field=Field.BUY_BOX,
            source=Source.DERIVED,
            day=DAY,
            action="lost",
            before=95.0,
            after=40.0,
        )
        page = self.client.get(product_url(self.kettle))
        self.assertContains(page, '<span class="badge badge-inferred" title="Inferred:', count=1)
        self.assertContains(page, '<span class="badge badge-derived" title="Derived:', count=1)
        self.assertContains(page, "estimated from Amazon&#x27;s daily sales ÷ units")
        self.assertContains(page, "a day of Amazon&#x27;s daily metrics")
        self.assertContains(page, '95%</span> → <span class="after">40%')

    def test_amazon_text_is_shown_as_text_never_as_markup(self):
        store(
            self.connection,
            listing=self.kettle,
            field=Field.TITLE,
            day=DAY,
            before="Kettle",
            after="<script>alert('title')</script>",
        )
        store(
            self.connection,
            listing=self.kettle,
            field=Field.DESCRIPTION,
            day=DAY,
            before="Plain text.",
            after="Plain <img src=x onerror=alert(1)> text.",
        )
        store(
            self.connection,
            listing=self.kettle,
            field=Field.IMAGE,
            position=1,
            day=DAY,
            action="added",
            after="javascript:alert(1)",
        )
        page = self.client.get(product_url(self.kettle))
        body = page.content.decode()
        self.assertNotIn("<script>alert", body)
        self.assertNotIn("<img src=x", body)
        self.assertNotIn('src="javascript:', body)
        self.assertNotIn('href="javascript:', body)
        self.assertIn("&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;", body)
        self.assertIn("Plain<ins> &lt;img src=x onerror=alert(1)&gt;</ins> text.", body)

    def test_another_teams_product_is_not_found(self):
        store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY, after="Secret")
        self.client.force_login(self.charlie)
        for code in (self.kettle.code, uuid.uuid4()):
            response = self.client.get(reverse("listings:product_changes", args=[code]))
            self.assertEqual(response.status_code, 404)
        self.assertEqual(self.reads(), [])

    def test_a_teammate_may_read_it_and_each_read_is_audited(self):
        self.client.force_login(self.bob)
        self.assertEqual(self.client.get(product_url(self.kettle)).status_code, 200)
        (entry,) = self.reads()
        self.assertEqual(
            (entry.actor, entry.team, entry.target_type, entry.target_code),
            (self.bob, self.team, "listing", str(self.kettle.code)),
        )

    def test_the_products_page_links_each_product_to_its_history(self):
        page = self.client.get(reverse("amazon:products", args=[self.connection.code]))
        self.assertContains(page, f'href="{product_url(self.kettle)}"')
        self.assertContains(page, f'href="{account_url(self.connection)}"')

    def test_the_demo_simulators_images_load_through_the_relay(self):
        # The simulator's images are on its own origin under a CA browsers do not
        # trust: the history loads them through amazon:simulator_image (images.py).
        origin = "https://127.0.0.1:8123"
        store(
            self.connection,
            listing=self.kettle,
            field=Field.MAIN_IMAGE,
            day=DAY,
            action="changed",
            before=f"{origin}/images/I/old1.jpg",
            after="https://m.media-amazon.com/images/I/new2.jpg",
        )
        with self.settings(AMAZON_SIMULATOR_ORIGIN=origin):
            page = self.client.get(product_url(self.kettle))
        relay = reverse("amazon:simulator_image", args=["old1"])
        self.assertContains(page, f'src="{relay}"')
        self.assertContains(page, 'src="https://m.media-amazon.com/images/I/new2.jpg"')
        self.assertNotContains(page, f'src="{origin}')
        # Not in the demo, that link is not loaded (the page names it instead).
        with self.settings(AMAZON_SIMULATOR_ORIGIN=""):
            page = self.client.get(product_url(self.kettle))
        self.assertNotContains(page, f'src="{relay}"')


class AccountChangesPageTests(ChangesPageTestCase):
    def test_it_lists_every_products_changes_linked_to_their_history(self):
        store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY, after="K")
        store(self.connection, listing=self.mug, field=Field.TITLE, day=DAY, after="M")
        page = self.client.get(account_url(self.connection))
        self.assertContains(page, f'href="{product_url(self.kettle)}">B0KETTLE01</a>')
        self.assertContains(page, f'href="{product_url(self.mug)}">B0MUG00002</a>')
        (entry,) = self.reads()
        self.assertEqual(entry.target_code, str(self.connection.code))

    def test_it_filters_by_field_and_source(self):
        store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY, after="Title one")
        store(
            self.connection,
            listing=self.mug,
            field=Field.BUY_BOX,
            source=Source.DERIVED,
            day=DAY,
            action="lost",
            before=90.0,
            after=10.0,
        )
        titles = self.client.get(account_url(self.connection), {"field": "title"})
        self.assertContains(titles, "Title one")
        self.assertNotContains(titles, "Buy Box share</strong>")
        self.assertContains(titles, '<option value="title" selected>')
        derived = self.client.get(account_url(self.connection), {"source": "derived"})
        self.assertNotContains(derived, "Title one")
        self.assertContains(derived, "Buy Box share</strong> · Lost")

    def test_bad_filters_and_cursors_are_a_clear_400(self):
        for params, message in [
            ({"cursor": "made-up"}, "cursor is not valid"),
            ({"field": "colour"}, "field must be one of title,"),
            ({"start": "2026-11-30", "end": "2026-11-01"}, "start must be on or before end."),
            ({"end": "0001-01-01"}, None),
        ]:
            response = self.client.get(account_url(self.connection), params)
            if message is None:  # a year-1 day is a valid, empty range
                self.assertEqual(response.status_code, 200)
                continue
            self.assertContains(response, message, status_code=400)

    def test_older_changes_come_a_page_at_a_time_and_by_htmx(self):
        for n in range(55):
            store(
                self.connection,
                listing=self.kettle,
                field=Field.TITLE,
                day=DAY,
                after=f"Title number {n:02d}",
                at=(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)).time(),
            )
        first = self.client.get(account_url(self.connection))
        self.assertContains(first, "Title number 54")
        self.assertNotContains(first, "Title number 04")
        link = re.search(r'href="\?([^"]+)" hx-get', first.content.decode()).group(1)
        cursor = parse_qs(unquote(link.replace("&amp;", "&")))["cursor"][0]
        more = self.client.get(
            account_url(self.connection), {"cursor": cursor}, headers={"HX-Request": "true"}
        )
        self.assertNotContains(more, "<html")
        self.assertContains(more, "Title number 04")
        self.assertNotContains(more, "Title number 05<")
        self.assertNotContains(more, "Older changes")
        self.assertEqual(len(self.reads()), 2)

    def test_the_plan_hides_changes_older_than_its_history_and_says_so(self):
        store(
            self.connection,
            listing=self.kettle,
            field=Field.TITLE,
            day=date(2020, 1, 1),
            after="Ancient title",
        )
        page = self.client.get(account_url(self.connection))
        self.assertNotContains(page, "Ancient title")
        self.assertContains(page, "Your plan shows changes from")

    def test_another_teams_account_is_not_found(self):
        self.client.force_login(self.charlie)
        self.assertEqual(self.client.get(account_url(self.connection)).status_code, 404)
        self.assertEqual(self.reads(), [])

    def test_the_navigation_leads_to_the_only_accounts_changes(self):
        response = self.client.get(reverse("listings:changes_home"))
        self.assertRedirects(response, account_url(self.connection))
        # Its filters go along.
        response = self.client.get(
            reverse("listings:changes_home") + "?source=derived&field=buy_box"
        )
        self.assertRedirects(
            response, account_url(self.connection) + "?source=derived&field=buy_box"
        )
        self.client.force_login(self.charlie)
        page = self.client.get(reverse("listings:changes_home"))
        self.assertContains(page, "No Amazon seller account is connected yet.")
        self.assertContains(page, 'href="/amazon/changes/">Changes</a>')
