"""A team with a seller connection holding real metrics (from the simulator), and a key."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.api.services import api_key_create
from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.tests.helpers import BillingTestCase
from cvrtracker.metrics.services import metrics_ingest_days
from cvrtracker.metrics.tests.helpers import MARKET, make_connection, sim_payloads
from cvrtracker.test import BaseTestCase

# October 30 and November 24-28, 2026 (the last three pending): see metrics' helpers.
START, END = date(2026, 10, 25), date(2026, 11, 30)
US = {
    "id": MARKET,
    "name": "Amazon.com",
    "countryCode": "US",
    "defaultCurrencyCode": "USD",
    "domainName": "www.amazon.com",
    "isParticipating": True,
    "hasSuspendedListings": False,
}


def connect_with_metrics(team, user, *, seller_id: str, store_name: str) -> SellerConnection:
    """A connection as a finished sync leaves it: marketplaces, store name, six days stored."""
    connection = make_connection(team, user, seller_id=seller_id)
    connection.marketplaces = [US]
    connection.store_name_enc = connection.seal("store_name", store_name)
    connection.save()
    reports = {**sim_payloads()["october"], **sim_payloads()["days"]}
    metrics_ingest_days(connection=connection, marketplace_id=MARKET, reports=reports)
    return connection


class ApiTestCase(BaseTestCase):
    """alice's team has a connection with metrics and a key; so has charlie's."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.connection = connect_with_metrics(
            cls.team, cls.alice, seller_id="A1ALICE", store_name="Alice Outdoor"
        )
        cls.charlies_connection = connect_with_metrics(
            cls.charlies_team, cls.charlie, seller_id="A2CHARLIE", store_name="Charlie Home"
        )

    def setUp(self):
        super().setUp()
        # A fresh key per test: its rate-limit bucket starts full even where the
        # buckets live in Redis, which no test transaction rolls back.
        self.key_created = api_key_create(team=self.team, name="Spreadsheet", actor=self.alice)
        self.key, self.token = self.key_created.key, self.key_created.token

    def api(self, path: str, token: str | None = None, **params):
        token = self.token if token is None else token
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return self.client.get(path, params, headers=headers)

    def reads(self, action: str) -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(action=action).order_by("created_at"))


class ApiBillingTestCase(ApiTestCase, BillingTestCase):
    """With billing enforced and Stripe on loopback, to change the team's plan."""

    def on_starter(self) -> None:
        self.subscribe(price="price_starter")

    def end_the_trial(self) -> None:
        # Nobody subscribed and the 14 days are over: the team is read-only.
        sub = self.sub()
        sub.trial_ends_at = timezone.now() - timedelta(days=1)
        sub.save(update_fields=["trial_ends_at"])
