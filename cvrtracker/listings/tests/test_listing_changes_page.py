"""listing_changes_page: a product's or an account's changes, filtered, a cursor per page."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from cvrtracker.listings.selectors import (
    ChangeFilters,
    InvalidCursor,
    changes_cursor_decode,
    listing_changes_page,
)
from cvrtracker.test import BaseTestCase

from .history_helpers import Field, Source, seller_with_products, store

DAY = date(2026, 11, 3)


class ListingChangesPageTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection, self.kettle, self.mug = seller_with_products(self.team, "A1ALICE")
        self.kettle_ca = self.connection.listings.get(sku="KET-CA")

    def codes(self, page) -> list[str]:
        return [str(row.change.code) for row in page.rows]

    def test_a_product_has_every_sku_and_marketplace_of_its_asin_newest_first(self):
        older = store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY)
        canada = store(
            self.connection, listing=self.kettle_ca, field=Field.TITLE, day=DAY + timedelta(1)
        )
        inferred = store(
            self.connection,
            asin="B0KETTLE01",
            field=Field.PRICE,
            source=Source.INFERRED,
            day=DAY - timedelta(30),
        )
        store(self.connection, listing=self.mug, field=Field.TITLE, day=DAY)
        others, *_ = seller_with_products(self.charlies_team, "A2CHARLIE")
        store(others, listing=others.listings.get(sku="KET-US"), field=Field.TITLE, day=DAY)

        page = listing_changes_page(
            connection=self.connection, filters=ChangeFilters(product=self.kettle)
        )
        self.assertEqual(self.codes(page), [str(c.code) for c in (canada, older, inferred)])
        self.assertEqual(page.next_cursor, "")
        one = listing_changes_page(
            connection=self.connection, filters=ChangeFilters(listing=self.kettle_ca)
        )
        self.assertEqual(self.codes(one), [str(canada.code)])

    def test_payloads_are_decrypted(self):
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
        (row,) = listing_changes_page(connection=self.connection, filters=ChangeFilters()).rows
        self.assertEqual(row.payload["after"], {"amount": "18.00", "currency": "USD"})
        self.assertEqual(row.payload["pct"], -10.0)

    def test_it_filters_by_asin_field_source_and_days(self):
        title = store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY)
        bullet = store(
            self.connection,
            listing=self.mug,
            field=Field.BULLET,
            position=2,
            day=DAY + timedelta(2),
        )
        derived = store(
            self.connection,
            listing=self.mug,
            field=Field.BUY_BOX,
            source=Source.DERIVED,
            action="lost",
            day=DAY + timedelta(5),
        )

        def read(**filters):
            page = listing_changes_page(
                connection=self.connection, filters=ChangeFilters(**filters)
            )
            return self.codes(page)

        self.assertEqual(read(asin="B0MUG00002"), [str(derived.code), str(bullet.code)])
        self.assertEqual(read(field=Field.TITLE), [str(title.code)])
        self.assertEqual(read(source=Source.DERIVED), [str(derived.code)])
        self.assertEqual(read(start=DAY + timedelta(1), end=DAY + timedelta(4)), [str(bullet.code)])
        self.assertEqual(read(start=DAY + timedelta(2), end=DAY + timedelta(2)), [str(bullet.code)])

    def test_pages_cover_every_change_once_even_when_changes_arrive_between_pages(self):
        # Several changes share a day and even a sync time: the order must still be total.
        stored = [
            store(
                self.connection,
                listing=self.kettle,
                field=Field.BULLET,
                position=n % 5 + 1,
                day=DAY + timedelta(n // 4),
                at=time(10 + n % 2),
            )
            for n in range(23)
        ]
        seen: list[str] = []
        page = listing_changes_page(connection=self.connection, filters=ChangeFilters(), limit=5)
        seen += self.codes(page)
        # A newer change and an older one (an inferred price, stored late) arrive mid-way.
        store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY + timedelta(30))
        late = store(
            self.connection,
            asin="B0KETTLE01",
            field=Field.PRICE,
            source=Source.INFERRED,
            day=DAY - timedelta(60),
        )
        while page.next_cursor:
            after = changes_cursor_decode(connection=self.connection, cursor=page.next_cursor)
            page = listing_changes_page(
                connection=self.connection, filters=ChangeFilters(), after=after, limit=5
            )
            self.assertLessEqual(len(page.rows), 5)
            seen += self.codes(page)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(set(seen), {str(c.code) for c in stored} | {str(late.code)})
        days = [c.day for c in sorted(stored, key=lambda c: seen.index(str(c.code)))]
        self.assertEqual(days, sorted(days, reverse=True))

    def test_a_cursor_is_refused_when_malformed_tampered_or_from_another_account(self):
        for n in range(3):
            store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY + timedelta(n))
        cursor = listing_changes_page(
            connection=self.connection, filters=ChangeFilters(), limit=1
        ).next_cursor
        self.assertTrue(cursor)
        changes_cursor_decode(connection=self.connection, cursor=cursor)
        others, *_ = seller_with_products(self.charlies_team, "A2CHARLIE")
        tampered = cursor.replace(cursor[0], "A" if cursor[0] != "A" else "B", 1)
        for bad, connection in [
            ("nonsense", self.connection),
            (tampered, self.connection),
            ("x" * 1000, self.connection),
            (cursor, others),
        ]:
            with pytest.raises(InvalidCursor):
                changes_cursor_decode(connection=connection, cursor=bad)

    def test_a_destroyed_key_leaves_the_changes_listed_but_unreadable(self):
        store(self.connection, listing=self.kettle, field=Field.TITLE, day=DAY)
        self.connection.wrapped_data_key = None
        self.connection.save()
        (row,) = listing_changes_page(connection=self.connection, filters=ChangeFilters()).rows
        self.assertIsNone(row.payload)
