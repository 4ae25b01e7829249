"""Real Sales & Traffic documents from the simulator, and a connected seller without OAuth."""

from __future__ import annotations

import gzip
import json
from datetime import date
from functools import cache

from cvrtracker.accounts.models import Team, User
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.simulator.testing import SimClient, running_simulator

MARKET = "ATVPDKIKX0DER"
REPORTS = "/reports/2021-06-30/reports"


def make_connection(
    team: Team, user: User | None = None, *, seller_id: str = "A1SIMSELLER"
) -> SellerConnection:
    """A connection with a fresh data key, as connection_connect leaves it."""
    connection = SellerConnection(
        team=team, created_by=user, region="NA", selling_partner_id=seller_id
    )
    connection.create_data_key()
    connection.save()
    return connection


def fetch_report(
    client: SimClient,
    token: str,
    *,
    start: date,
    end: date,
    asin_granularity: str = "CHILD",
    gzipped: bool = True,
) -> bytes:
    """One DAY Sales & Traffic document, downloaded as the sync will (gzip bytes)."""
    spec = {
        "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
        "marketplaceIds": [MARKET],
        "dataStartTime": start.isoformat(),
        "dataEndTime": end.isoformat(),
        "reportOptions": {"dateGranularity": "DAY", "asinGranularity": asin_granularity},
    }
    created = client.post(REPORTS, token=token, json_body=spec)
    assert created.status == 202, created.body
    report_id = created.json()["reportId"]
    client.post("/_sim/clock", json_body={"seconds": 60})
    report = client.get(f"{REPORTS}/{report_id}", token=token).json()
    assert report["processingStatus"] == "DONE", report
    document = client.get(
        f"/reports/2021-06-30/documents/{report['reportDocumentId']}", token=token
    ).json()
    body = client.get(document["url"]).body
    return body if gzipped else gzip.decompress(body)


def report_json(body: bytes) -> dict:
    return json.loads(gzip.decompress(body))


SIM_DAYS = [date(2026, 11, d) for d in range(24, 29)]  # the last three are pending
ACCOUNT_START, ACCOUNT_END = date(2024, 12, 1), date(2026, 11, 28)


@cache
def sim_payloads() -> dict:
    """Everything the tests need from one simulator run (deterministic: fixed seed and day).

    Fetched once per test process: starting a simulator per test would dominate
    the suite's run time.
    """
    # These tests parse documents; they fetch seven Sales & Traffic reports at once, which the
    # simulator's Sales & Traffic budget (1 per 15 min) would refuse, so they opt out of it.
    with running_simulator(asins=20, st_budget=False) as sim:
        client = SimClient(sim)
        seller = sim.world.sellers[0]
        token = client.access_token(seller.id)
        days = {d: fetch_report(client, token, start=d, end=d) for d in SIM_DAYS}
        october = {
            date(2026, 10, 30): fetch_report(
                client, token, start=date(2026, 10, 30), end=date(2026, 10, 30)
            )
        }
        account = fetch_report(
            client, token, start=ACCOUNT_START, end=ACCOUNT_END, asin_granularity="PARENT"
        )
        items = client.get(
            f"/listings/2021-08-01/items/{seller.id}",
            token=token,
            params={
                "marketplaceIds": MARKET,
                "includedData": "summaries,attributes,offers,fulfillmentAvailability,issues",
                "pageSize": 20,
            },
        ).json()["items"]
        asins = [i["summaries"][0]["asin"] for i in items]
        catalog = client.get(
            "/catalog/2022-04-01/items",
            token=token,
            params={
                "marketplaceIds": MARKET,
                "identifiers": ",".join(asins),
                "identifiersType": "ASIN",
                "includedData": "attributes,images,summaries",
                "pageSize": 20,
            },
        ).json()["items"]
        inventory = client.get(
            "/fba/inventory/v1/summaries",
            token=token,
            params={
                "granularityType": "Marketplace",
                "granularityId": MARKET,
                "marketplaceIds": MARKET,
                "details": "true",
            },
        ).json()["payload"]["inventorySummaries"]
        orders = client.get(
            "/orders/2026-01-01/orders",
            token=token,
            params={
                "createdAfter": "2026-11-27T00:00:00Z",
                "includedData": "PROCEEDS,FULFILLMENT",
                "maxResultsPerPage": 30,
            },
        ).json()["orders"]
        # A title change as the simulator scripts it, for snapshot digests.
        product = seller.product(items[0]["sku"])
        client.post(
            f"/_sim/sellers/{seller.id}/listings/{product.sku}",
            # Live on the detail page at once (summaries.itemName is the catalog's).
            json_body={
                "field": "title",
                "value": "CANARY-RENAMED Stainless Travel Mug",
                "catalogDelaySeconds": 0,
            },
        )
        renamed = client.get(
            f"/listings/2021-08-01/items/{seller.id}/{product.sku}",
            token=token,
            params={
                "marketplaceIds": MARKET,
                "includedData": "summaries,attributes,offers,fulfillmentAvailability,issues",
            },
        ).json()
    return {
        "days": days,
        "october": october,
        "account": account,
        "items": items,
        "catalog": {c["asin"]: c for c in catalog},
        "inventory": inventory,
        "orders": orders,
        "renamed": renamed,
    }


def dump_blocks(connection: SellerConnection) -> list[tuple]:
    """Every block of `connection` with its decrypted plaintext: equal dumps, equal data."""
    from cvrtracker.metrics.keys import ConnectionKeys
    from cvrtracker.metrics.models import MetricBlock

    keys = ConnectionKeys(connection)
    out = []
    for block in MetricBlock.objects.filter(connection=connection).order_by(
        "marketplace_id", "granularity", "month", "shard"
    ):
        plain = keys.data.decrypt(
            bytes(block.values_enc), aad=block.values_aad(keys.connection_code)
        )
        days = [stamp is not None for stamp in block.fetched]
        out.append(
            (
                block.marketplace_id,
                block.granularity,
                block.month,
                block.shard,
                block.rows,
                days,
                plain,
            )
        )
    return out


def raw_table_bytes(*tables: str) -> bytes:
    """The raw content of database tables, every column as text or bytes, for canary checks."""
    from django.db import connection as db

    chunks = []
    with db.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - table names are ours
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes | bytearray):
                        chunks.append(bytes(value))
                    else:
                        chunks.append(str(value).encode())
    return b"\x00".join(chunks)
