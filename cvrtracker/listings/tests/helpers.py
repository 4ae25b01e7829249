"""Listings shaped like searchListingsItems, and teams put on a plan through Stripe's webhook."""

from __future__ import annotations

from cvrtracker.accounts.models import Team
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.billing.tests.helpers import BillingTestCase
from cvrtracker.listings.models import Listing
from cvrtracker.listings.services import listings_admit

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
STARTER_PRODUCTS = 50  # cvrtracker/billing/plans.py


def make_connection(team: Team, seller_id: str, **fields) -> SellerConnection:
    connection = SellerConnection(team=team, region="NA", selling_partner_id=seller_id, **fields)
    connection.create_data_key()
    connection.save()
    return connection


def item(sku: str, asin: str = "", *, market: str = US, title: str = "") -> dict:
    """A searchListingsItems item with its summary, as the sync reads it."""
    summary = {"marketplaceId": market, "status": ["BUYABLE"], "itemName": title or f"Item {sku}"}
    if asin:
        summary["asin"] = asin
    return {"sku": sku, "summaries": [summary]}


def items(count: int, *, start: int = 0, market: str = US) -> list[dict]:
    """`count` products with one SKU each, in ascending SKU order."""
    return [item(f"SKU-{n:04d}", f"B0{n:08d}", market=market) for n in range(start, start + count)]


def admit(connection: SellerConnection, page: list[dict], *, market: str = US) -> dict:
    return listings_admit(connection=connection, marketplace_id=market, items=page)


def tracked_skus(connection: SellerConnection | None = None) -> set[str]:
    listings = Listing.objects.filter(tracking=Listing.Tracking.TRACKED)
    if connection is not None:
        listings = listings.filter(connection=connection)
    return set(listings.values_list("sku", flat=True))


class PlanTestCase(BillingTestCase):
    """Alice's team on a paid plan, changed the way Stripe changes it: by a signed webhook."""

    remote: dict

    def put_on_starter(self) -> None:
        self.remote = self.subscribe(price="price_starter")

    def change_plan(self, *, pro: bool) -> None:
        price = {"price": "price_pro_2026", "lookup_key": "pro_monthly"} if pro else {}
        self.remote = self.put_sub(id=self.remote["id"], **price)
        self.send("customer.subscription.updated", self.remote)

    def end_subscription(self) -> None:
        """The subscription is cancelled: the team may look but not change anything."""
        self.remote = self.put_sub(id=self.remote["id"], status="canceled")
        self.send("customer.subscription.deleted", self.remote)
