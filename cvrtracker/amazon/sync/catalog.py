"""Listings (with the catalog's images and bullets) and inventory, per marketplace.

Both page through Amazon and store each page before asking for the next, so a
50,000-product seller never sits in memory at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cvrtracker.amazon.client import AmazonError, CorruptDocument
from cvrtracker.amazon.models import LISTED_AT, SellerConnection, SyncJob
from cvrtracker.amazon.services import connection_client, connection_record_listed
from cvrtracker.amazon.sync.sales_traffic import marketplace_ids
from cvrtracker.amazon.sync.schedule import JobPaused
from cvrtracker.impact.measured import MEASURED_FIELDS
from cvrtracker.impact.tasks import refresh_impacts
from cvrtracker.lib import clock
from cvrtracker.listings.merchant_listings import MerchantReportError, merchant_listings_parse
from cvrtracker.listings.models import Listing, ListingChange
from cvrtracker.listings.normalize import MFN_CHANNEL
from cvrtracker.listings.services import (
    inventory_upsert_fba,
    inventory_upsert_mfn_page,
    listings_admit,
    listings_admit_report,
    listings_record_snapshots,
    listings_track_waiting,
)

logger = logging.getLogger(__name__)

LISTING_DATA = ["summaries", "attributes", "offers", "fulfillmentAvailability", "issues"]
# productTypes: the detail page's product type (listings/normalize.py), at no extra call.
CATALOG_DATA = ["attributes", "images", "productTypes", "summaries"]
# Every SKU of a marketplace, active or not; not a Sales & Traffic report, so
# it costs nothing of that report's 96-a-day budget.
MERCHANT_LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
# searchListingsItems takes at most 20 identifiers (the model's maxItems).
SKUS_PER_CALL = 20
# getInventorySummaries' nextToken dies after 30 s; a page that waited longer
# (quota, a slow database) starts the marketplace over, this many times at most.
INVENTORY_RESTARTS = 3


def listings_sync(*, job: SyncJob) -> int:
    """Record every listing and snapshot the tracked ones for the run `job.run_id`;
    returns the listings recorded by this call.

    searchListingsItems pages through at most 1,000 SKUs (the Listings Items
    model), so per marketplace the run takes three steps, each kept in
    `job.cursor`:
      1. request a GET_MERCHANT_LISTINGS_ALL_DATA report ("report");
      2. once it is DONE, record every SKU of it (listings_admit_report: new
         products are tracked in SKU order while the team's plan has room, so
         the same catalogue always gives the same tracked set) ("admitted");
      3. read the tracked SKUs by identifier, 20 a call, in SKU order, and
         snapshot them ("after": the last SKU done).
    A report still being made pauses the run (JobPaused) instead of waiting,
    as does every AMAZON_JOB_PAGES_PER_RUN calls; a run resumed after a pause or
    a crash goes on from its cursor, and a page stored twice keeps one snapshot
    per listing per run.
    """
    connection = job.connection
    api = connection_client(connection=connection)
    recorded = pages = 0
    done_markets = list(job.cursor.get("done", []))
    for market in marketplace_ids(connection):
        if market in done_markets:
            continue
        cursor = job.cursor if job.cursor.get("market") == market else {}
        if not cursor.get("admitted") and _listed_recently(connection, market):
            # The merchant listings report is discovery (new SKUs, what is listed
            # where): hourly is enough. The sweep itself can then come every few
            # minutes without a report each time (createReport: 1 a minute).
            listings_track_waiting(connection=connection, marketplace_id=market)
            cursor = {"done": done_markets, "market": market, "admitted": True, "after": ""}
            _save_cursor(job, cursor)
        if not cursor.get("admitted"):
            recorded += _admit_report(api, job, connection, market, done_markets, cursor)
            cursor = job.cursor
        after = cursor.get("after", "")
        while True:
            skus = list(
                Listing.objects.filter(
                    connection=connection,
                    marketplace_id=market,
                    tracking=Listing.Tracking.TRACKED,
                    sku__gt=after,
                )
                .order_by("sku")
                .values_list("sku", flat=True)[:SKUS_PER_CALL]
            )
            if not skus:
                break
            page = api.search_listings_items(
                seller_id=connection.selling_partner_id,
                marketplace_id=market,
                included_data=LISTING_DATA,
                skus=skus,
            )
            _store_listings(api, connection, market, page.get("items") or [], job.run_id)
            after = skus[-1]
            _save_cursor(job, {**cursor, "after": after})
            pages += 1
            if pages >= settings.AMAZON_JOB_PAGES_PER_RUN:
                raise JobPaused()
        done_markets.append(market)
        _save_cursor(job, {"done": done_markets})
    return recorded


def _listed_recently(connection: SellerConnection, market: str) -> bool:
    """Was the marketplace's merchant listings report read in the last
    LISTINGS_DISCOVERY_MINUTES (amazon/services.connection_record_listed)?"""
    for entry in connection.marketplaces:
        if entry.get("id") == market and entry.get(LISTED_AT):
            try:
                listed_at = datetime.fromisoformat(entry[LISTED_AT])
            except (TypeError, ValueError):
                return False
            age = clock.now() - listed_at
            return timedelta(0) <= age < timedelta(minutes=settings.LISTINGS_DISCOVERY_MINUTES)
    return False


def _admit_report(
    api, job: SyncJob, connection: SellerConnection, market: str, done: list, cursor: dict
) -> int:
    """Request, await (by pausing) and record the marketplace's merchant listings report."""
    report_id = cursor.get("report")
    if not report_id:
        try:
            report_id = api.create_report(
                report_type=MERCHANT_LISTINGS,
                marketplace_ids=[market],
                quota_wait=settings.AMAZON_JOB_QUOTA_WAIT_SECONDS,
            )
        except AmazonError as error:
            if error.status != 400:
                raise
            # A marketplace Amazon lists as "participating" but where the seller has no
            # account (docs#254, docs#1260): nothing is listed there, and the run goes on.
            logger.info("%s refused for %s: nothing listed there", MERCHANT_LISTINGS, market)
            connection_record_listed(connection=connection, marketplace_id=market, count=0)
            _save_cursor(job, {"done": done, "market": market, "admitted": True, "after": ""})
            return 0
        _save_cursor(job, {"done": done, "market": market, "report": report_id})
    report = api.get_report(report_id)
    status = report.get("processingStatus")
    if status in ("IN_QUEUE", "IN_PROGRESS"):
        raise JobPaused(retry_after=settings.AMAZON_REPORT_POLL_SECONDS)
    if status != "DONE":
        # FATAL or CANCELLED: the next attempt asks for a new report.
        _save_cursor(job, {"done": done})
        raise AmazonError(
            f"{MERCHANT_LISTINGS} for {market} ended {status}", permanent=False, code=str(status)
        )
    document_id = report.get("reportDocumentId")
    try:
        document = api.get_report_document(document_id) if document_id else b""
        # Parsed whole before anything is written: a bad report changes nothing.
        rows = merchant_listings_parse(document)
    except (CorruptDocument, MerchantReportError) as error:
        logger.warning("%s %s for %s: %s", MERCHANT_LISTINGS, report_id, market, error)
        _save_cursor(job, {"done": done})
        raise AmazonError(
            f"The merchant listings report of {market} could not be read: {error}",
            permanent=False,
            code="MerchantReportError",
        ) from error
    recorded = listings_admit_report(connection=connection, marketplace_id=market, rows=rows)
    connection_record_listed(connection=connection, marketplace_id=market, count=len(rows))
    _save_cursor(
        job, {"done": done, "market": market, "report": report_id, "admitted": True, "after": ""}
    )
    return recorded


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
    reads = [
        (listings[item["sku"]], item, catalog.get(listings[item["sku"]].asin))
        for item in items
        if listings[item["sku"]].is_tracked
    ]
    before = timezone.now()
    listings_record_snapshots(reads=reads, sync_id=run_id)
    _measure_new_changes(connection, market, since=before)
    # Merchant-fulfilled stock is only in the listing (channel DEFAULT); it is
    # inventory, kept for every SKU like FBA stock.
    quantities = {
        item["sku"]: entry.get("quantity")
        for item in items
        for entry in item.get("fulfillmentAvailability") or []
        if entry.get("fulfillmentChannelCode") == MFN_CHANNEL
    }
    if quantities:
        inventory_upsert_mfn_page(
            connection=connection, marketplace_id=market, quantities=quantities
        )
    return len(items)


def _measure_new_changes(connection: SellerConnection, market: str, *, since) -> None:
    """New content or price changes: show their impact ("not enough data yet, verdict
    on ...") without waiting for the next metrics day."""
    new = ListingChange.objects.filter(
        connection=connection,
        marketplace_id=market,
        source=ListingChange.Source.OBSERVED,
        field__in=MEASURED_FIELDS,
        created_at__gte=since,
    )
    if new.exists():
        transaction.on_commit(partial(refresh_impacts.enqueue, connection.pk, market), robust=True)


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
