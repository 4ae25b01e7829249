"""The dashboard benchmarks' data generator (bench/dashboard_data.py) on a tiny dataset:
what it stores encrypted reads back, through the selectors the pages use, as the same
numbers as its plaintext table, so the benchmarks compare like with like."""

import importlib.util
import sys
from datetime import date, timedelta

from django.conf import settings
from django.db import connection as db
from django.test import TestCase

from cvrtracker.impact.selectors import impact_for_changes
from cvrtracker.listings.models import Listing, ListingChange
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.metrics.selectors import (
    metrics_account_series,
    metrics_product_series,
    metrics_product_table,
)

LAST_DAY = date(2026, 11, 29)


def bench_data():
    """bench/ is not a package: load the module from its file (once)."""
    name = "bench_dashboard_data"
    if name not in sys.modules:
        path = settings.BASE_DIR / "bench" / "dashboard_data.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up while defined
        spec.loader.exec_module(module)
    return sys.modules[name]


DATA = bench_data()


class BenchDataTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.dataset = DATA.build(products=12, days=45, last_day=LAST_DAY, seed=3)
        cls.connection = cls.dataset.connection()

    def plain(self, query: str, params: list) -> list[tuple]:
        with db.cursor() as cursor:
            cursor.execute(query.replace("{table}", DATA.PLAIN_TABLE), params)
            return cursor.fetchall()

    def test_the_product_table_reads_the_plaintext_numbers(self):
        start = LAST_DAY - timedelta(days=29)
        rows = metrics_product_table(
            connection=self.connection,
            marketplace_id=DATA.MARKET,
            start=start,
            end=LAST_DAY,
            order_by="asin",
        )
        plain = self.plain(
            "SELECT asin, sum(sessions), sum(page_views), sum(units), sum(sales) FROM {table} "
            "WHERE day >= %s AND day <= %s GROUP BY asin ORDER BY asin",
            [start, LAST_DAY],
        )
        got = [
            (
                r.asin,
                r.sessions,
                r.page_views,
                r.units_ordered,
                r.ordered_product_sales.amount_minor,
            )
            for r in rows
        ]
        self.assertEqual(got, [(p[0], *(int(v) for v in p[1:])) for p in plain])
        self.assertEqual(len(rows), 12)

    def test_the_last_days_are_pending_never_zero(self):
        series = metrics_account_series(
            connection=self.connection,
            marketplace_id=DATA.MARKET,
            start=LAST_DAY - timedelta(days=4),
            end=LAST_DAY,
        )
        self.assertEqual([d.pending for d in series], [False, False, False, True, True])
        self.assertIsNone(series[-1].sessions)
        self.assertGreater(series[-1].units_ordered, 0)
        nulls = self.plain("SELECT count(*) FROM {table} WHERE sessions IS NULL", [])[0][0]
        self.assertEqual(nulls, 12 * DATA.PENDING_DAYS)

    def test_a_product_series_matches_its_plaintext_rows(self):
        asin = self.dataset.asins[5]
        series = metrics_product_series(
            connection=self.connection,
            asin=asin,
            start=self.dataset.first_day,
            end=LAST_DAY,
            marketplace_id=DATA.MARKET,
        )
        plain = self.plain(
            "SELECT day, sessions, units, sales FROM {table} WHERE asin = %s ORDER BY day", [asin]
        )
        self.assertEqual(len(series), 45)
        self.assertEqual(
            [
                (d.day, d.sessions, d.units_ordered, d.ordered_product_sales.amount_minor)
                for d in series
            ],
            [(date.fromisoformat(str(p[0])), p[1], p[2], p[3]) for p in plain],
        )

    def test_listings_changes_and_impacts_are_stored_encrypted_and_readable(self):
        listings = Listing.objects.filter(connection=self.connection)
        self.assertEqual(listings.count(), 12)
        self.assertTrue(all(row.is_tracked for row in listings))
        keys = ConnectionKeys(self.connection)
        first = listings.get(asin=self.dataset.asins[0])
        title = keys.data.decrypt_str(bytes(first.title_enc), aad=first.aad("title"))
        self.assertEqual(title, DATA.title_of(0))
        observed = list(
            ListingChange.objects.filter(
                connection=self.connection, source=ListingChange.Source.OBSERVED
            )
        )
        self.assertTrue(observed)
        impacts = impact_for_changes(connection=self.connection, changes=observed)
        self.assertEqual(set(impacts), {c.pk for c in observed})
        self.assertEqual(self.dataset.impacts, len(observed))
