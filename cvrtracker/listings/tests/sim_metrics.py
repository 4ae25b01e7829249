"""The simulator's Data Kiosk documents, stored through the real parser and ingest services.

The same path as the sync (amazon/sync/datakiosk.py) without the HTTP round trips: the
simulator builds the JSONL document of a salesAndTrafficTrends / ByDate query from its
world, metrics/datakiosk.py parses it and metrics/services.py stores it. Quick enough
to load two years of several dozen products for every seed a test wants.
"""

from __future__ import annotations

import gzip
from datetime import date, timedelta

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.metrics.datakiosk import by_date_query, parse_by_date, parse_trends, trends_query
from cvrtracker.metrics.services import metrics_ingest_account_days, metrics_merge_asin_days
from cvrtracker.simulator import datakiosk as simdk
from cvrtracker.simulator.world import Marketplace, Seller, World

HISTORY = 730


def _document(world: World, seller: Seller, text: str, as_of: date, market: Marketplace) -> bytes:
    spec = simdk.parse_query(text, today=as_of, allowed_marketplaces={market.id})
    raw = simdk.build_document(world, seller, spec, as_of)
    return gzip.decompress(raw) if raw else b""


def store_history(
    connection: SellerConnection,
    world: World,
    *,
    seller: Seller | None = None,
    market: Marketplace | None = None,
    as_of: date | None = None,
    start: date | None = None,
    asins: list[str] | None = None,
) -> tuple[date, date]:
    """Store [start, as_of - 1] of the seller's products as Amazon shows them on `as_of`
    (default: the marketplace's today; units of the last 30 days not yet revised, traffic
    of the last 3 days not arrived); returns the stored range."""
    seller = seller or world.sellers[0]
    market = market or seller.home
    as_of = as_of or world.today(market)
    end = as_of - timedelta(days=1)
    start = start or as_of - timedelta(days=HISTORY)
    text = by_date_query(market.id, start, end)
    rows = parse_by_date(
        _document(world, seller, text, as_of, market),
        marketplace_id=market.id,
        start=start,
        end=end,
        currency=market.currency,
    )
    common = {
        "connection": connection,
        "marketplace_id": market.id,
        "start": start,
        "end": end,
        "currency": market.currency,
    }
    metrics_ingest_account_days(rows=rows, **common)
    asins = asins or [p.asin for p in seller.products if seller.offers(p, market)]
    for i in range(0, len(asins), 30):
        chunk = asins[i : i + 30]
        text = trends_query([(market.id, chunk)], start, end)
        rows = parse_trends(
            _document(world, seller, text, as_of, market),
            marketplace_id=market.id,
            asins=chunk,
            start=start,
            end=end,
            currency=market.currency,
        )
        metrics_merge_asin_days(asins=chunk, rows=rows, **common)
    return start, end
