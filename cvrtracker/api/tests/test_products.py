"""GET /api/v1/connections/<code>/products: the product table over a window."""

import uuid
from datetime import UTC, date, datetime

import time_machine
from django.test import override_settings
from django.urls import reverse

from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.limits import history_start_for_team
from cvrtracker.listings.services import listings_admit
from cvrtracker.listings.tests.helpers import item
from cvrtracker.metrics.report import parse_sales_traffic
from cvrtracker.metrics.selectors import metrics_product_table
from cvrtracker.metrics.tests.helpers import sim_payloads

from .helpers import END, MARKET, START, ApiTestCase


def url(code) -> str:
    return reverse("api:products", kwargs={"code": code})


class ProductsTests(ApiTestCase):
    def get(self, **params):
        params = {"start": START.isoformat(), "end": END.isoformat(), **params}
        return self.api(url(self.connection.code), **params)

    def test_it_serves_the_metrics_product_table(self):
        response = self.get(order_by="-conversion_rate", limit=5)
        self.assertEqual(response.status_code, 200)
        body = response.json()
        expected = metrics_product_table(
            connection=self.connection,
            marketplace_id=MARKET,
            start=START,
            end=END,
            order_by="-conversion_rate",
            limit=5,
        )
        self.assertEqual([p["asin"] for p in body["products"]], [r.asin for r in expected])
        first, row = body["products"][0], expected[0]
        self.assertEqual(
            {k: first[k] for k in ("sessions", "units_ordered", "days", "pending_days")},
            {
                "sessions": row.sessions,
                "units_ordered": row.units_ordered,
                "days": 6,
                "pending_days": 3,
            },
        )
        self.assertEqual(first["conversion_rate"], row.conversion_rate)
        self.assertEqual(first["parent_asin"], row.parent_asin)
        self.assertEqual(first["buy_box_percentage"], row.buy_box_percentage)
        self.assertEqual(
            (body["marketplace"], body["start"], body["end"], body["order_by"], body["limit"]),
            (MARKET, "2026-10-25", "2026-11-30", "-conversion_rate", 5),
        )

    def test_rows_carry_the_title_and_skus(self):
        first, second = [p["asin"] for p in self.get(limit=2).json()["products"]]
        listings_admit(
            connection=self.connection,
            marketplace_id=MARKET,
            items=[
                item("KET-US-B", first, title="Blue Kettle 1.7 l"),
                item("KET-US-A", first, title="Blue Kettle 1.7 l"),
                item("KET-CA", first, market="A2EUQ1WTGCTBG2", title="Other marketplace"),
            ],
        )
        rows = {p["asin"]: p for p in self.get(limit=2).json()["products"]}
        self.assertEqual(
            (rows[first]["title"], rows[first]["skus"]),
            ("Blue Kettle 1.7 l", ["KET-US-A", "KET-US-B"]),
        )
        self.assertEqual((rows[second]["title"], rows[second]["skus"]), ("", []))

    def test_sales_are_a_decimal_string_of_the_minor_units(self):
        body = self.get(order_by="-ordered_product_sales", limit=1).json()
        (row,) = metrics_product_table(
            connection=self.connection,
            marketplace_id=MARKET,
            start=START,
            end=END,
            order_by="-ordered_product_sales",
            limit=1,
        )
        cents = row.ordered_product_sales.amount_minor
        self.assertGreater(cents, 0)
        self.assertEqual(
            body["products"][0]["ordered_product_sales"],
            {"amount": f"{cents // 100}.{cents % 100:02d}", "currency": "USD"},
        )

    def test_the_only_marketplace_is_the_default(self):
        body = self.api(url(self.connection.code), start="2026-11-24", end="2026-11-28").json()
        self.assertEqual(body["marketplace"], MARKET)
        self.assertEqual(len(body["products"]), 20)
        self.assertEqual(body["limit"], 100)
        self.assertEqual(body["order_by"], "-units_ordered")

    def test_another_teams_connection_is_not_found(self):
        for code in (self.charlies_connection.code, uuid.uuid4()):
            response = self.api(url(code))
            self.assertEqual(response.status_code, 404)
            self.assertEqual(response.json(), {"error": "Not found."})
        self.assertEqual(self.reads(AuditEntry.Action.API_PRODUCTS_READ), [])

    def test_the_read_is_audited_with_the_connection(self):
        self.get()
        (entry,) = self.reads(AuditEntry.Action.API_PRODUCTS_READ)
        self.assertEqual((entry.actor, entry.team), (self.alice, self.team))
        self.assertEqual(
            (entry.target_type, entry.target_code), ("sellerconnection", str(self.connection.code))
        )

    def test_it_explains_each_invalid_parameter(self):
        cases = [
            ({"start": "2026-13-01"}, "start must be a date written YYYY-MM-DD."),
            ({"end": "yesterday"}, "end must be a date written YYYY-MM-DD."),
            ({"start": "2026-11-28", "end": "2026-11-01"}, "start must be on or before end."),
            ({"start": "2024-01-01", "end": "2026-01-01"}, "at most 730 days"),
            ({"order_by": "title"}, "order_by must be one of asin, sessions"),
            ({"order_by": "--sessions"}, "order_by must be one of"),
            ({"limit": "0"}, "limit must be a whole number from 1 to 10000."),
            ({"limit": "10001"}, "limit must be a whole number from 1 to 10000."),
            ({"limit": "ten"}, "limit must be a whole number from 1 to 10000."),
            ({"marketplace": "A1PA6795UKMFR9"}, "is not one of this seller account's"),
        ]
        for params, message in cases:
            with self.subTest(params=params):
                response = self.get(**params)
                self.assertEqual(response.status_code, 400)
                self.assertIn(message, response.json()["error"])
        self.assertEqual(self.reads(AuditEntry.Action.API_PRODUCTS_READ), [])

    def test_dates_at_the_ends_of_the_calendar_are_an_empty_window_not_a_crash(self):
        for params in ({"end": "0001-01-01"}, {"start": "9999-12-02", "end": "9999-12-31"}):
            with self.subTest(params=params):
                response = self.api(url(self.connection.code), **params)
                self.assertEqual(response.status_code, 200, response.content)
                self.assertEqual(response.json()["products"], [])

    def test_errors_name_their_field(self):
        body = self.get(limit="0", start="soon").json()
        self.assertEqual(set(body["fields"]), {"limit", "start"})

    def test_a_connection_in_several_marketplaces_needs_one_named(self):
        self.connection.marketplaces = [{"id": MARKET}, {"id": "A2EUQ1WTGCTBG2"}]
        self.connection.save(update_fields=["marketplaces"])
        response = self.api(url(self.connection.code))
        self.assertEqual(response.status_code, 400)
        self.assertIn("marketplace is required", response.json()["error"])
        self.assertEqual(self.get(marketplace=MARKET).status_code, 200)

    def test_a_window_within_the_plans_history_is_not_limited(self):
        body = self.get().json()
        self.assertFalse(body["history_limited"])
        self.assertNotIn("history_message", body)


def november_days() -> dict[str, int]:
    """How many of the five November reports list each ASIN (Amazon lists an ASIN only on
    days with activity)."""
    counts: dict[str, int] = {}
    for body in sim_payloads()["days"].values():
        for row in parse_sales_traffic(body).by_asin:
            counts[row.child_asin] = counts.get(row.child_asin, 0) + 1
    assert max(counts.values()) == 5
    return counts


# A self-hosted install without billing keeps the trial's limits at any date.
@override_settings(BILLING_ENFORCED=False)
class ProductsHistoryTests(ApiTestCase):
    # Two years on, the plan's 730 days begin in mid-November 2026: October's day is
    # cut off, November 24-28 are not.
    LATER = datetime(2028, 11, 10, 12, 0, tzinfo=UTC)

    def test_the_start_is_moved_to_the_plans_history_and_it_says_so(self):
        with time_machine.travel(self.LATER, tick=False):
            history_start = history_start_for_team(self.team, today=self.LATER.date())
            self.assertTrue(date(2026, 10, 30) < history_start <= date(2026, 11, 24))
            body = self.api(url(self.connection.code), start="2026-10-01", end="2026-11-30").json()
        self.assertTrue(body["history_limited"])
        self.assertEqual(body["history_start"], history_start.isoformat())
        self.assertEqual(body["start"], history_start.isoformat())
        self.assertIn("instead of 2026-10-01", body["history_message"])
        self.assertIn("kept, not deleted", body["history_message"])
        # Only November's five days are counted.
        self.assertEqual({p["asin"]: p["days"] for p in body["products"]}, november_days())

    def test_a_range_older_than_the_history_is_empty_and_says_why(self):
        with time_machine.travel(self.LATER, tick=False):
            body = self.api(url(self.connection.code), start="2026-10-01", end="2026-10-31").json()
        self.assertEqual(body["products"], [])
        self.assertTrue(body["history_limited"])
        self.assertIn("nothing is shown", body["history_message"])

    def test_the_default_window_is_the_30_days_up_to_the_marketplaces_yesterday(self):
        # 12:00 UTC is 04:00 in Los Angeles: the US marketplace's November 29 has
        # just begun, its last whole day is the 28th.
        with time_machine.travel(datetime(2026, 11, 29, 12, 0, tzinfo=UTC), tick=False):
            body = self.api(url(self.connection.code)).json()
        self.assertEqual((body["start"], body["end"]), ("2026-10-30", "2026-11-28"))
        # October 30's report and November's five.
        self.assertEqual(
            {p["asin"]: p["days"] for p in body["products"]},
            {asin: days + 1 for asin, days in november_days().items()},
        )
        # 07:59 UTC on the 30th is still the 29th in Los Angeles.
        with time_machine.travel(datetime(2026, 11, 30, 7, 59, tzinfo=UTC), tick=False):
            later = self.api(url(self.connection.code)).json()
        self.assertEqual(later["end"], "2026-11-28")
