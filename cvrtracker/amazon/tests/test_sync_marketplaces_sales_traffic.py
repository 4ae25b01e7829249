"""Marketplaces and Sales & Traffic: a refused marketplace is dropped for good, a
permanent refusal is given up, and each marketplace keeps its own currency."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from cvrtracker.amazon.client import AmazonError
from cvrtracker.amazon.models import LISTED, ST_REFUSED, SalesTrafficDay, SellerConnection
from cvrtracker.amazon.services import connection_sync_marketplaces
from cvrtracker.amazon.sync.sales_traffic import (
    marketplace_ids,
    sales_traffic_marketplace_ids,
    sales_traffic_plan,
    sales_traffic_record_error,
)
from cvrtracker.metrics.selectors import metrics_account_series, metrics_product_series
from cvrtracker.metrics.services import metrics_ingest_day
from cvrtracker.metrics.tests.helpers import SIM_DAYS, report_json, sim_payloads
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller, counters, drain
from .test_sales_traffic_plan import connection_in, market

US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
DE, FR, IT, ES, GB, IE = (
    "A1PA6795UKMFR9",
    "A13V1IB3VIYZZH",
    "APJ6JRA9NG5V4",
    "A1RKKUPIHCS9HS",
    "A1F83G8C2ARO7P",
    "A28R8C7NBKEWEA",
)


class RefusedMarketplaceTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim_eu, settings):
        self.sim, self.settings = sync_sim_eu, settings
        # The European seller sells in Ireland too, where Amazon refuses this report with
        # 400 InvalidInput "Some of the marketplaces are not allowed for this Report"
        # (models#4718).
        self.connection = connect_seller(sync_sim_eu, team=self.team, user=self.alice, seller=1)
        connection_sync_marketplaces(connection=self.connection)
        # As a listings run leaves them: something is listed in every marketplace.
        self.connection.marketplaces = [{**m, LISTED: 5} for m in self.connection.marketplaces]
        # Only the report steps run: the daily sync would reload the marketplaces.
        self.connection.next_sync_at = timezone.now() + timedelta(days=1)
        self.connection.save()

    def test_a_marketplace_amazon_refuses_is_not_asked_again_and_the_seller_is_told(self):
        sales_traffic_plan(connection=self.connection)
        others = SalesTrafficDay.objects.exclude(marketplace_id=IE)
        assert set(others.values_list("marketplace_id", flat=True)) == {DE, FR, IT, ES, GB}
        # Done, or cancelled: between 23:00 and 05:00 UTC Europe's yesterday is the
        # simulator's today (its calendar is the US one), a day with no report yet.
        finished = ("done", "cancelled")
        drain(self, lambda: not others.exclude(status__in=finished).exists(), timeout=120)
        row = SellerConnection.objects.get()
        refused = next(m for m in row.marketplaces if m["id"] == IE)
        assert "400 InvalidInput" in refused[ST_REFUSED]
        assert IE not in sales_traffic_marketplace_ids(row)
        assert IE in marketplace_ids(row)  # its orders and listings are still synced
        ireland = SalesTrafficDay.objects.filter(marketplace_id=IE)
        assert ireland.count() == 5 and set(ireland.values_list("status", flat=True)) == {
            "given_up"
        }
        calls = counters(self.sim, row.selling_partner_id)["createReport"]
        assert calls.get("http_400") == 1  # one refusal, no retries, no more requests
        assert row.last_error == ""  # not the connection's problem
        # The next plan adds no Irish day.
        sales_traffic_plan(connection=row)
        assert SalesTrafficDay.objects.filter(marketplace_id=IE).count() == 5
        self.client.force_login(self.alice)
        page = self.client.get("/amazon/")
        name = next(m["name"] for m in row.marketplaces if m["id"] == IE)
        self.assertContains(page, f"Amazon does not offer Sales &amp; Traffic reports in {name}")

    def test_the_refusal_is_kept_when_the_marketplaces_are_read_again(self):
        SellerConnection.objects.filter(pk=self.connection.pk).update(
            marketplaces=[{**m, ST_REFUSED: "refused"} for m in self.connection.marketplaces]
        )
        connection_sync_marketplaces(connection=self.connection)
        de = next(m for m in SellerConnection.objects.get().marketplaces if m["id"] == DE)
        assert de[ST_REFUSED] == "refused" and de[LISTED] == 5 and de["name"]


class PermanentErrorTestCase(BaseTestCase):
    def test_a_permanent_refusal_is_given_up_after_the_attempts_cap(self):
        connection = connection_in(self.team, market(US))
        sales_traffic_plan(connection=connection)
        item = SalesTrafficDay.objects.order_by("-day").first()
        error = AmazonError(
            "createReport: Amazon refused the request (400 InvalidInput)",
            permanent=True,
            status=400,
        )
        for attempt in range(1, 5):
            sales_traffic_record_error(item=item, error=error)
            item.refresh_from_db()
            assert (item.status, item.attempts) == ("due", attempt)
            assert item.next_attempt_at > timezone.now()
        sales_traffic_record_error(item=item, error=error)
        item.refresh_from_db()
        assert (item.status, item.attempts, item.next_attempt_at) == ("given_up", 5, None)
        assert item.last_error.startswith("Given up after 5 attempts: createReport")
        assert SellerConnection.objects.get().last_error == ""

    def test_a_passing_error_is_retried_without_a_cap(self):
        connection = connection_in(self.team, market(US))
        sales_traffic_plan(connection=connection)
        item = SalesTrafficDay.objects.order_by("-day").first()
        for _ in range(8):
            sales_traffic_record_error(
                item=item, error=AmazonError("Amazon answered 503", permanent=False, status=503)
            )
            item.refresh_from_db()
        assert item.status == "due" and item.attempts == 8


def in_currency(document: bytes, marketplace_id: str, currency: str) -> dict:
    """The simulator's US report as Amazon would send it for another marketplace."""
    text = json.dumps(report_json(document)).replace('"USD"', json.dumps(currency))
    report = json.loads(text)
    report["reportSpecification"]["marketplaceIds"] = [marketplace_id]
    return report


class CurrencyTestCase(BaseTestCase):
    def test_each_marketplace_keeps_its_own_currency_and_nothing_adds_them_up(self):
        connection = connection_in(self.team, market(US), market(CA))
        day = SIM_DAYS[0]
        document = sim_payloads()["days"][day]
        metrics_ingest_day(connection=connection, marketplace_id=US, day=day, report=document)
        metrics_ingest_day(
            connection=connection,
            marketplace_id=CA,
            day=day,
            report=in_currency(document, CA, "CAD"),
        )
        us = metrics_account_series(connection=connection, marketplace_id=US, start=day, end=day)
        ca = metrics_account_series(connection=connection, marketplace_id=CA, start=day, end=day)
        assert us[0].ordered_product_sales.currency == "USD"
        assert ca[0].ordered_product_sales.currency == "CAD"
        assert us[0].ordered_product_sales.amount_minor == ca[0].ordered_product_sales.amount_minor
        asin = report_json(document)["salesAndTrafficByAsin"][0]["childAsin"]
        # An ASIN's series needs its marketplace: dollars and Canadian dollars do not add up.
        with pytest.raises(ValueError):
            metrics_product_series(connection=connection, asin=asin, start=day, end=day)
        ca_series = metrics_product_series(
            connection=connection, asin=asin, start=day, end=day, marketplace_id=CA
        )
        assert ca_series[0].ordered_product_sales.currency == "CAD"
