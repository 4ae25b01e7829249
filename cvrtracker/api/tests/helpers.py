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


def seller_with_listings(team, user, *, seller_id: str, store_name: str):
    """connect_with_metrics plus its three best-selling products' listings (SKU-0..2,
    titled "Product n") and a price change of SKU-0 on 2026-11-10: what the API's and the
    site's walks need to reach every page. Returns (connection, product rows, the
    SKU-0 listing, the price change)."""
    from cvrtracker.listings.models import Listing
    from cvrtracker.listings.services import listings_admit
    from cvrtracker.listings.tests.helpers import item
    from cvrtracker.listings.tests.history_helpers import Field, store
    from cvrtracker.metrics.selectors import metrics_product_table

    connection = connect_with_metrics(team, user, seller_id=seller_id, store_name=store_name)
    rows = metrics_product_table(
        connection=connection, marketplace_id=MARKET, start=START, end=END, limit=3
    )
    listings_admit(
        connection=connection,
        marketplace_id=MARKET,
        items=[item(f"SKU-{n}", row.asin, title=f"Product {n}") for n, row in enumerate(rows)],
    )
    first = Listing.objects.get(connection=connection, sku="SKU-0")
    price = store(
        connection,
        listing=first,
        field=Field.PRICE,
        day=date(2026, 11, 10),
        action="changed",
        before={"amount": "20.00", "currency": "USD"},
        after={"amount": "18.00", "currency": "USD"},
        pct=-10.0,
    )
    return connection, rows, first, price


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
