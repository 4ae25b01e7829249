"""GET /api/v1/connections/<code>/products/<asin>/series: one product's days."""

import uuid

from django.urls import reverse

from cvrtracker.audit.models import AuditEntry
from cvrtracker.metrics.selectors import metrics_product_series, metrics_product_table

from .helpers import END, MARKET, START, ApiTestCase


def url(code, asin: str) -> str:
    return reverse("api:product_series", kwargs={"code": code, "asin": asin})


class ProductSeriesTests(ApiTestCase):
    def setUp(self):
        super().setUp()
        # The best seller: a product with sales on the pending days too.
        self.asin = metrics_product_table(
            connection=self.connection, marketplace_id=MARKET, start=START, end=END, limit=1
        )[0].asin

    def get(self, asin: str | None = None, **params):
        params = {"start": START.isoformat(), "end": END.isoformat(), **params}
        return self.api(url(self.connection.code, asin or self.asin), **params)

    def test_it_serves_each_stored_day(self):
        response = self.get()
        self.assertEqual(response.status_code, 200)
        body = response.json()
        expected = metrics_product_series(
            connection=self.connection, asin=self.asin, start=START, end=END, marketplace_id=MARKET
        )
        self.assertEqual(body["asin"], self.asin)
        self.assertEqual([d["date"] for d in body["days"]], [d.day.isoformat() for d in expected])
        self.assertEqual(
            [(d["sessions"], d["units_ordered"]) for d in body["days"]],
            [(d.sessions, d.units_ordered) for d in expected],
        )

    def test_pending_days_have_no_traffic_and_no_conversion_rate(self):
        days = self.get().json()["days"]
        pending = [d for d in days if d["pending"]]
        self.assertEqual([d["date"] for d in pending], ["2026-11-26", "2026-11-27", "2026-11-28"])
        for day in pending:
            self.assertEqual(
                (day["sessions"], day["page_views"], day["conversion_rate"]), (None, None, None)
            )
        settled = [d for d in days if not d["pending"]]
        self.assertTrue(all(d["sessions"] is not None for d in settled))
        self.assertTrue(any(d["conversion_rate"] for d in settled))

    def test_a_malformed_asin_is_refused(self):
        response = self.get(asin="b00-nope")
        self.assertEqual(response.status_code, 400)
        self.assertIn("ten capital letters or digits", response.json()["error"])
        self.assertEqual(set(response.json()["fields"]), {"asin"})

    def test_another_teams_connection_is_not_found(self):
        for code in (self.charlies_connection.code, uuid.uuid4()):
            self.assertEqual(self.api(url(code, self.asin)).status_code, 404)
        self.assertEqual(self.reads(AuditEntry.Action.API_PRODUCT_SERIES_READ), [])

    def test_parameters_are_validated(self):
        response = self.get(start="2026-11-30", end="2026-11-01")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "start must be on or before end.")

    def test_the_read_is_audited_with_the_connection(self):
        self.get()
        (entry,) = self.reads(AuditEntry.Action.API_PRODUCT_SERIES_READ)
        self.assertEqual((entry.actor, entry.target_code), (self.alice, str(self.connection.code)))
