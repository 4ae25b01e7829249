"""change_views: each kind of change as the history pages print it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from cvrtracker.listings.history import change_interval, change_views
from cvrtracker.listings.selectors import ChangeFilters, listing_changes_page
from cvrtracker.test import BaseTestCase

from .history_helpers import Field, Source, seller_with_products, store

DAY = date(2026, 11, 3)


class ChangeViewsTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection, self.kettle, _ = seller_with_products(self.team, "A1ALICE")

    def view(self, **change):
        store(self.connection, listing=self.kettle, day=DAY, **change)
        rows = listing_changes_page(connection=self.connection, filters=ChangeFilters()).rows
        (view,) = change_views(rows=rows[:1], marketplaces={"ATVPDKIKX0DER": "Amazon.com"})
        self.connection.listing_changes.all().delete()
        return view

    def test_status_issue_stock_and_moves_read_as_sentences(self):
        status = self.view(
            field=Field.STATUS,
            action="changed",
            before=["BUYABLE", "DISCOVERABLE"],
            after=["DISCOVERABLE"],
        )
        self.assertEqual((status.before, status.after), ("Buyable, Discoverable", "Discoverable"))
        issue = self.view(
            field=Field.ISSUE,
            action="appeared",
            before=None,
            suppresses=True,
            after={
                "code": "90220",
                "severity": "ERROR",
                "message": "Missing brand",
                "enforcement": None,
            },
        )
        self.assertEqual((issue.action_label, issue.before), ("Appeared", "none"))
        self.assertEqual(issue.after, "Error: Missing brand (90220)")
        self.assertIn("suppresses the listing", issue.note)
        stock = self.view(field=Field.MFN_STOCK, action="out_of_stock", before=4, after=0)
        self.assertEqual((stock.action_label, stock.after), ("Out of stock", "0 in stock"))
        # A derived stock-out says what the metrics showed, not two days' unit counts.
        out = self.view(
            field=Field.STOCK_OUT, source=Source.DERIVED, action="out_of_stock", before=3, after=0
        )
        self.assertEqual(out.kind, "note")
        self.assertIn("No units sold and no Buy Box", out.note)
        back = self.view(
            field=Field.STOCK_OUT,
            source=Source.DERIVED,
            action="back_in_stock",
            before=0,
            after=2,
            days=10,
        )
        self.assertEqual(back.note, "Selling again after 10 days out of stock.")
        moved = self.view(
            field=Field.BULLET,
            position=1,
            action="reordered",
            before="Steel.",
            after="Steel.",
            from_position=3,
        )
        self.assertEqual(moved.diff, "Steel.")
        self.assertEqual(moved.note, "Moved from position 3 to 1.")
        self.assertEqual(moved.marketplace, "Amazon.com")

    def test_the_interval_is_in_the_marketplaces_time(self):
        change = store(
            self.connection, listing=self.kettle, field=Field.TITLE, day=DAY, at=time(22, 1)
        )
        # 21:02–22:01 UTC is 13:02–14:01 in Los Angeles (PST).
        self.assertEqual(change_interval(change), "between 13:02 and 14:01 PST on Tue 3 Nov 2026")
        change.seen_after = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)
        self.assertEqual(change_interval(change), "between Mon 2 Nov 12:00 and Tue 3 Nov 14:01 PST")
        derived = store(
            self.connection,
            listing=self.kettle,
            field=Field.STOCK_OUT,
            day=DAY,
            source=Source.DERIVED,
            action="out_of_stock",
        )
        self.assertEqual(
            change_interval(derived), "on Tue 3 Nov 2026 (a day of Amazon's daily metrics)"
        )
