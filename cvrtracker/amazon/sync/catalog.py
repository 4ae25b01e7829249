"""Listings (with the catalog's images and bullets) and inventory, per marketplace.

Both page through Amazon and store each page before asking for the next, so a
50,000-product seller never sits in memory at once.
"""

from __future__ import annotations

from django.conf import settings

from cvrtracker.amazon.client import AmazonError
from cvrtracker.amazon.models import SellerConnection, SyncJob
from cvrtracker.amazon.services import connection_client
from cvrtracker.amazon.sync.sales_traffic import marketplace_ids
from cvrtracker.amazon.sync.schedule import JobPaused
from cvrtracker.listings.normalize import MFN_CHANNEL
from cvrtracker.listings.services import (
    inventory_upsert_fba,
    inventory_upsert_mfn,
    listing_record_snapshot,
    listings_admit,
)

LISTING_DATA = ["summaries", "attributes", "offers", "fulfillmentAvailability", "issues"]
CATALOG_DATA = ["attributes", "images", "summaries"]
# getInventorySummaries' nextToken dies after 30 s; a page that waited longer
# (quota, a slow database) starts the marketplace over, this many times at most.
INVENTORY_RESTARTS = 3


def listings_sync(*, job: SyncJob) -> int:
    """Record every listing and snapshot the tracked ones for the run `job.run_id`;
    returns the listings seen.

    Listings are met marketplace by marketplace, SKUs in ascending order, and new
    products are tracked in that order while the team's plan has room
    (listings_admit): the same catalogue always gives the same tracked set.

    The page reached is kept in `job.cursor`, so a run resumed after a crash (or a
    JobPaused after a slice of pages) goes on from there, and a page stored twice
    keeps one snapshot per listing per run.
    """
    connection = job.connection
    api = connection_client(connection=connection)
    seen = pages = 0
    markets = marketplace_ids(connection)
    done_markets = list(job.cursor.get("done", []))
    for market in markets:
        if market in done_markets:
            continue
        token = job.cursor.get("page") if job.cursor.get("market") == market else None
        while True:
            page = api.search_listings_items(
                seller_id=connection.selling_partner_id,
                marketplace_id=market,
                included_data=LISTING_DATA,
                page_token=token,
            )
            items = page.get("items") or []
            seen += _store_listings(api, connection, market, items, job.run_id)
            token = (page.get("pagination") or {}).get("nextToken")
            if not token:
                break
            _save_cursor(job, {"done": done_markets, "market": market, "page": token})
            pages += 1
            if pages >= settings.AMAZON_JOB_PAGES_PER_RUN:
                raise JobPaused()
        done_markets.append(market)
        _save_cursor(job, {"done": done_markets})
    return seen


def _store_listings(
    api, connection: SellerConnection, market: str, items: list, run_id: str
) -> int:
    listings = listings_admit(connection=connection, marketplace_id=market, items=items)
    # Only tracked listings are snapshotted, so only their ASINs are worth a
    # catalog call: a seller over the plan's limit costs no quota for the rest.
    asins = list(
        dict.fromkeys(row.asin for row in listings.values() if row.is_tracked and row.asin)
    )
    catalog: dict[str, dict] = {}
    for start in range(0, len(asins), 20):  # searchCatalogItems takes 20 ASINs a call
        for found in api.search_catalog_items(
            marketplace_id=market, asins=asins[start : start + 20], included_data=CATALOG_DATA
        ):
            catalog[found.get("asin", "")] = found
    for item in items:
        listing = listings[item["sku"]]
        if listing.is_tracked:
            listing_record_snapshot(
                listing=listing,
                item=item,
                catalog_item=catalog.get(listing.asin),
                sync_id=run_id,
            )
        # Merchant-fulfilled stock is only in the listing (channel DEFAULT); it is
        # inventory, kept for every SKU like FBA stock.
        for entry in item.get("fulfillmentAvailability") or []:
            if entry.get("fulfillmentChannelCode") == MFN_CHANNEL:
                inventory_upsert_mfn(
                    connection=connection,
                    marketplace_id=market,
                    sku=item["sku"],
                    quantity=entry.get("quantity"),
                )
    return len(items)


def _save_cursor(job: SyncJob, cursor: dict) -> None:
    job.cursor = cursor
    SyncJob.objects.filter(pk=job.pk, run_id=job.run_id).update(cursor=cursor)


def inventory_sync(*, job: SyncJob) -> int:
    """Store FBA inventory (details) of every marketplace; returns the SKUs written."""
    connection = job.connection
    api = connection_client(connection=connection)
    written = 0
    for market in marketplace_ids(connection):
        token, restarts = None, 0
        while True:
            try:
                page = api.get_inventory_summaries(marketplace_id=market, next_token=token)
            except AmazonError as error:
                # An expired nextToken is a 400; the upserts are idempotent, so
                # starting the marketplace over loses nothing.
                if token and error.status == 400 and restarts < INVENTORY_RESTARTS:
                    token, restarts = None, restarts + 1
                    continue
                raise
            summaries = (page.get("payload") or {}).get("inventorySummaries") or []
            if summaries:
                written += inventory_upsert_fba(
                    connection=connection, marketplace_id=market, summaries=summaries
                )
            token = (page.get("pagination") or {}).get("nextToken")
            if not token:
                break
    return written
