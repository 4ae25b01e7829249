"""Rows for the pages' tests.

Channels are added through alert_channel_create (the production path). Alerts and
deliveries are written with the ORM as the evaluation and the delivery write them:
a stand-in for the rules helper's evaluation, with the payload encrypted under the
connection's key as models.py says.
"""

from __future__ import annotations

import itertools
from datetime import date

from django.utils import timezone

from cvrtracker.alerts.channels import alert_channel_create
from cvrtracker.alerts.models import Alert, AlertChannel, AlertRule, Delivery
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.billing.models import Subscription
from cvrtracker.billing.services import subscription_for_team
from cvrtracker.listings.services import listings_admit

US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
_keys = itertools.count()


def seller(team, seller_id: str = "A1PAGES", *, asin: str = "B0PAGES001") -> SellerConnection:
    """A connection with one listed product in the US (its page exists)."""
    connection = SellerConnection(
        team=team,
        region="NA",
        selling_partner_id=seller_id,
        marketplaces=[{"id": US, "name": "Amazon.com"}, {"id": CA, "name": "Amazon.ca"}],
    )
    connection.create_data_key()
    connection.save()
    item = {
        "sku": "SKU-1",
        "summaries": [
            {"marketplaceId": US, "status": ["BUYABLE"], "itemName": "Garlic press", "asin": asin}
        ],
    }
    listings_admit(connection=connection, marketplace_id=US, items=[item])
    return connection


def member_email(user, name: str = "My email") -> AlertChannel:
    return alert_channel_create(user=user, kind="email", name=name, member=user)


def webhook(user, name: str = "Ops hook") -> AlertChannel:
    return alert_channel_create(
        user=user, kind="webhook", name=name, target="https://hooks.example.com/cvr?token=s3cret"
    )


def alert(
    connection: SellerConnection,
    *,
    rule: AlertRule | None = None,
    kind: str = AlertRule.Kind.LISTING_CHANGED,
    asin: str = "B0PAGES001",
    marketplace_id: str = US,
    day: date = date(2026, 11, 20),
    payload: dict | None = None,
    deliveries: tuple[tuple[AlertChannel, str], ...] = (),
) -> Alert:
    row = Alert(
        team=connection.team,
        rule=rule,
        kind=kind,
        connection=connection,
        marketplace_id=marketplace_id,
        asin=asin,
        sku="SKU-1" if asin else "",
        day=day,
        key=f"test|{next(_keys)}",
    )
    payload = (
        payload
        if payload is not None
        else {
            "title": "Garlic press, stainless",
            "field": "title",
            "before": "Garlic press",
            "after": "Garlic press, stainless",
        }
    )
    row.payload_enc = connection.data_key().encrypt_json(payload, aad=row.aad())
    row.save()
    for channel, status in deliveries:
        Delivery.objects.create(
            alert=row,
            channel=channel,
            status=status,
            attempts=1 if status != Delivery.Status.PENDING else 0,
            sent_at=timezone.now() if status == Delivery.Status.SENT else None,
        )
    return row


def on_starter(team) -> None:
    """The team pays for Starter (email only), as the billing webhook stores it."""
    sub = subscription_for_team(team=team)
    sub.plan, sub.status = "starter", Subscription.Status.ACTIVE
    sub.stripe_customer_id, sub.stripe_subscription_id = "cus_pages", "sub_pages"
    sub.save()
