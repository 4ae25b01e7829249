"""GET /api/v1/connections/<code>/series: the whole account's days."""

import uuid

from django.urls import reverse

from cvrtracker.audit.models import AuditEntry
from cvrtracker.metrics.selectors import metrics_account_series

from .helpers import END, MARKET, START, ApiTestCase


def url(code) -> str:
    return reverse("api:account_series", kwargs={"code": code})


class AccountSeriesTests(ApiTestCase):
    def get(self, **params):
        params = {"start": START.isoformat(), "end": END.isoformat(), **params}
        return self.api(url(self.connection.code), **params)

    def test_it_serves_each_stored_day_with_nulls_while_pending(self):
        response = self.get()
        self.assertEqual(response.status_code, 200)
        days = response.json()["days"]
        expected = metrics_account_series(
            connection=self.connection, marketplace_id=MARKET, start=START, end=END
        )
        self.assertEqual(len(days), len(expected))
        for got, want in zip(days, expected, strict=True):
            self.assertEqual(got["date"], want.day.isoformat())
            self.assertEqual(got["pending"], want.pending)
            self.assertEqual(got["sessions"], want.sessions)
            self.assertEqual(got["units_ordered"], want.units_ordered)
            self.assertEqual(got["conversion_rate"], want.conversion_rate)
        pending = [d for d in days if d["pending"]]
        self.assertTrue(pending)
        self.assertTrue(
            all(d["sessions"] is None and d["buy_box_percentage"] is None for d in pending)
        )

    def test_another_teams_connection_is_not_found(self):
        for code in (self.charlies_connection.code, uuid.uuid4()):
            self.assertEqual(self.api(url(code)).status_code, 404)
        self.assertEqual(self.reads(AuditEntry.Action.API_ACCOUNT_SERIES_READ), [])

    def test_parameters_are_validated(self):
        response = self.get(start="2026-02-30")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(
            response.json()["fields"], {"start": ["start must be a date written YYYY-MM-DD."]}
        )

    def test_the_read_is_audited_with_the_connection(self):
        self.get()
        (entry,) = self.reads(AuditEntry.Action.API_ACCOUNT_SERIES_READ)
        self.assertEqual((entry.actor, entry.target_code), (self.alice, str(self.connection.code)))
