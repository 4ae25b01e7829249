"""Secrecy at rest, proven (issue 13, point 6): a seller whose store name, brand,
titles, bullets and descriptions carry a canary is synced from the simulator; then the
whole database is dumped as an attacker with a copy of it would read it (pg_dump on
PostgreSQL, the database file on SQLite) and searched for the canary, the seller's
tokens, its order ids and the master key. Zero hits.

The task queue's storage is in that dump too (django_tasks_db's results table);
tasks the sync enqueues carry ids only.
"""

import base64
import secrets

import pytest

from cvrtracker.amazon.models import SellerConnection, SyncJob
from cvrtracker.amazon.sync.jobs import connection_sync
from cvrtracker.amazon.tests.conftest import synced_simulator
from cvrtracker.amazon.tests.helpers import connect_seller, run_until_done
from cvrtracker.lib.crypto import key_provider
from cvrtracker.listings.models import Listing
from cvrtracker.listings.services import listing_content
from cvrtracker.metrics.models import Order
from cvrtracker.metrics.orders import order_data
from cvrtracker.test import make_user
from tests.dump import dump_database

pytestmark = pytest.mark.slow


def forms(value: str) -> list[bytes]:
    """How a value could appear in a dump: as text, and as the hex of a bytea column."""
    raw = value.encode()
    return [raw, raw.hex().encode()]


@pytest.mark.django_db(transaction=True)
def test_a_database_dump_holds_no_canary_token_order_id_or_master_key(settings):
    canary = "CANARY" + secrets.token_hex(4).upper()
    with synced_simulator(settings) as sim:
        settings.LISTINGS_DISCOVERY_MINUTES = 0
        seller = sim.world.sellers[0]
        # Before the catalogue is built (on first use), so scripted edits carry it too.
        seller.store_name = f"{canary} Store"
        seller.brands = [f"{canary} {n}" for n in range(3)]
        owner = make_user("canary@example.org")
        connection = connect_seller(sim, team=owner.membership.team, user=owner)
        connection_sync(connection=connection)
        for job in SyncJob.objects.filter(connection=connection):
            run_until_done(job)

    connection = SellerConnection.objects.get(pk=connection.pk)
    secrets_found = {
        "canary": canary,
        "refresh token": connection.unseal("refresh_token", connection.refresh_token_enc),
    }
    if connection.access_token_enc:
        secrets_found["access token"] = connection.unseal(
            "access_token", connection.access_token_enc
        )
    titles = 0
    for listing in Listing.objects.filter(connection=connection):
        content = listing_content(connection=connection, listing=listing) or {}
        if content.get("title"):
            titles += 1
            assert canary in content["title"], "the simulator did not carry the canary"
    orders = list(Order.objects.filter(connection=connection)[:50])
    for order in orders:
        order_id = order_data(connection=connection, order=order).get("order_id") or ""
        if order_id:
            secrets_found[f"order id {order_id}"] = order_id
    assert titles >= 5 and len(orders) >= 5, (titles, len(orders))
    master = key_provider()._key
    secrets_found["master key (base64)"] = base64.b64encode(master).decode()

    dump = dump_database()
    assert len(dump) > 100_000, "the dump is suspiciously small"
    hits = [
        what
        for what, value in secrets_found.items()
        if value and any(form in dump for form in forms(value))
    ]
    assert master not in dump
    assert hits == [], f"found in the database dump: {hits}"
    # The check can fail: the same dump does hold what is stored in plaintext on purpose.
    assert connection.selling_partner_id.encode() in dump
