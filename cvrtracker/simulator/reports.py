"""Report documents (Sales & Traffic, merchant listings) and the report state machine.

Sales & Traffic follows Amazon's quirks: the by-ASIN section is one row per
ASIN aggregated over the whole requested range, with no date; WEEK and MONTH
widen the range to whole weeks (Sunday to Saturday) and months; traffic
(sessions, page views) of the last SESSION_LAG_DAYS days is still zero while
their sales are already there, and units and sales are revised for REVISION_DAYS
(World.day_stats with as_of); a start more than two years back is CANCELLED.

A document covers one marketplace (S&T "can only be applied to one marketplace at
a time", docs#614), in its currency, with only the products offered there. At
account level a shopper is counted once however many ASINs they visit, so the
by-date sessions are a little below the sum of the by-ASIN ones, while units add up
(sp-api-semantics.md §4 "Sessions").
"""

from __future__ import annotations

import gzip
import io
import json
import os
import threading
from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from .hashing import digest, unit
from .world import HISTORY_DAYS, Marketplace, Product, Seller, World

SALES_AND_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"
MERCHANT_LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
SUPPORTED_TYPES = (SALES_AND_TRAFFIC, MERCHANT_LISTINGS)
DATE_GRANULARITIES = ("DAY", "WEEK", "MONTH")
ASIN_GRANULARITIES = ("PARENT", "CHILD", "SKU")

# Accumulator slots: sessions, browser sessions, page views, browser page views,
# units, order items, sales (cents), buy-box percentage × page views.
_S, _BS, _PV, _BPV, _U, _OI, _SALES, _BBW = range(8)


def widen(start: date, end: date, granularity: str) -> tuple[date, date]:
    """Amazon widens WEEK ranges to Sunday..Saturday and MONTH ranges to whole months."""
    if granularity == "WEEK":
        start -= timedelta(days=(start.weekday() + 1) % 7)
        end += timedelta(days=(5 - end.weekday()) % 7)
    elif granularity == "MONTH":
        start = start.replace(day=1)
        end = end.replace(day=monthrange(end.year, end.month)[1])
    return start, end


def bucket_of(day: date, granularity: str) -> date:
    if granularity == "WEEK":
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if granularity == "MONTH":
        return day.replace(day=1)
    return day


def day_instant(day: date) -> datetime:
    """Noon UTC of `day`: the same calendar date in every marketplace's zone."""
    return datetime.combine(day, time(12), tzinfo=UTC)


def is_too_old(start: date, today: date) -> bool:
    return start < today - timedelta(days=HISTORY_DAYS)


def offered_products(seller: Seller, marketplace: Marketplace) -> list[Product]:
    """The seller's products listed in `marketplace`, in catalogue order."""
    if marketplace is seller.home:
        return seller.products
    return [p for p in seller.products if seller.offers(p, marketplace)]


def account_sessions_share(world: World, seller: Seller, day: date, market: Marketplace) -> float:
    """By-date sessions over the sum of by-ASIN sessions: shoppers who visit several ASINs
    count once for the account (sp-api-semantics.md §4, docs#2357)."""
    return 0.86 + 0.1 * unit(world.seed, seller.index, day.toordinal(), market.id, "one-visit")


def _money(cents: float, currency: str) -> dict:
    return {"amount": round(cents / 100.0, 2), "currencyCode": currency}


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _dump_rows(rows: list[dict]) -> bytes:
    """Rows as JSON without the brackets: one C-encoder call per chunk instead of per row."""
    return json.dumps(rows, separators=(",", ":"))[1:-1].encode()


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def build_sales_and_traffic(
    world: World,
    seller: Seller,
    *,
    start: date,
    end: date,
    date_granularity: str,
    asin_granularity: str,
    as_of: date,
    marketplace: Marketplace | None = None,
) -> bytes:
    """The gzip'd JSON document; rows are streamed into the compressor, not held as dicts.

    `marketplace` is one of the seller's (None: its first); `as_of` the marketplace-local
    day the report is read on, which decides how settled its numbers are.
    """
    market = marketplace or seller.home
    start, end = widen(start, end, date_granularity)
    currency = market.currency
    products = offered_products(seller, market)
    last_day = min(end, as_of - timedelta(days=1))

    if asin_granularity == "PARENT":
        keys = [p.parent_asin for p in products]
        order = list(dict.fromkeys(keys))
        slot_of = {k: i for i, k in enumerate(order)}
        row_of = [slot_of[k] for k in keys]
    else:
        row_of = list(range(len(products)))
    rows = [[0] * 8 for _ in range(max(row_of, default=-1) + 1)]
    by_date: dict[date, list[float]] = {}
    day_stats = world.day_stats

    for day in _days(start, last_day):
        day_rows = [0] * 8
        for product, r in zip(products, row_of, strict=True):
            st = day_stats(seller, product, day, market, as_of)
            row = rows[r]
            if st.page_views:
                bbw = st.buy_box_pct * st.page_views
                row[_S] += st.sessions
                row[_BS] += st.browser_sessions
                row[_PV] += st.page_views
                row[_BPV] += st.browser_page_views
                row[_BBW] += bbw
                day_rows[_S] += st.sessions
                day_rows[_BS] += st.browser_sessions
                day_rows[_PV] += st.page_views
                day_rows[_BPV] += st.browser_page_views
                day_rows[_BBW] += bbw
            row[_U] += st.units
            row[_OI] += st.order_items
            row[_SALES] += st.sales_cents
            day_rows[_U] += st.units
            day_rows[_OI] += st.order_items
            day_rows[_SALES] += st.sales_cents
        share = account_sessions_share(world, seller, day, market)
        day_rows[_S] = int(day_rows[_S] * share)
        day_rows[_BS] = int(day_rows[_BS] * share)
        bucket = by_date.setdefault(bucket_of(day, date_granularity), [0] * 8)
        for i in range(8):
            bucket[i] += day_rows[i]
    # The by-ASIN shares are of the sum of the by-ASIN rows' sessions and page views.
    totals = tuple(sum(r[i] for r in rows) for i in (_S, _BS, _PV, _BPV))

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=5, mtime=0) as gz:
        spec = {
            "reportType": SALES_AND_TRAFFIC,
            "reportOptions": {
                "dateGranularity": date_granularity,
                "asinGranularity": asin_granularity,
            },
            "dataStartTime": start.isoformat(),
            "dataEndTime": end.isoformat(),
            "marketplaceIds": [market.id],
        }
        gz.write(b'{"reportSpecification":' + json.dumps(spec).encode())
        gz.write(b',"salesAndTrafficByDate":[')
        parent_count = len({p.parent_asin for p in products})
        gz.write(
            ",".join(
                json.dumps(_date_row(world, seller, d, t, currency, len(products), parent_count))
                for d, t in sorted(by_date.items())
            ).encode()
        )
        gz.write(b'],"salesAndTrafficByAsin":[')
        chunk: list[dict] = []
        first = True
        for r, row in enumerate(rows):
            if not (row[_S] or row[_PV] or row[_U] or row[_OI] or row[_SALES]):
                # Amazon leaves out ASINs with no activity (sp-api-semantics.md §4), as Data
                # Kiosk does: both sources then agree on which cells exist.
                continue
            if asin_granularity == "PARENT":
                ident = {"parentAsin": order[r]}
            else:
                p = products[r]
                ident = {"parentAsin": p.parent_asin, "childAsin": p.asin}
                if asin_granularity == "SKU":
                    ident["sku"] = p.sku
            chunk.append(_asin_row(ident, row, totals, currency))
            if len(chunk) >= 2000:
                gz.write((b"" if first else b",") + _dump_rows(chunk))
                first, chunk = False, []
        if chunk:
            gz.write((b"" if first else b",") + _dump_rows(chunk))
        gz.write(b"]}")
    return buffer.getvalue()


def _asin_row(ident: dict, row: list, totals: tuple[int, ...], currency: str) -> dict:
    """One salesAndTrafficByAsin row; shares are of the whole report's sessions and views."""
    sessions, browser_sessions, page_views, browser_views = totals
    # Percent per unit of each total, computed once per row instead of seven divisions.
    k_s = 100.0 / sessions if sessions else 0.0
    k_bs = 100.0 / browser_sessions if browser_sessions else 0.0
    k_ms = 100.0 / (sessions - browser_sessions) if sessions - browser_sessions else 0.0
    k_pv = 100.0 / page_views if page_views else 0.0
    k_bpv = 100.0 / browser_views if browser_views else 0.0
    k_mpv = 100.0 / (page_views - browser_views) if page_views - browser_views else 0.0
    s, bs, pv, bpv = row[_S], row[_BS], row[_PV], row[_BPV]
    ident["salesByAsin"] = {
        "unitsOrdered": row[_U],
        "orderedProductSales": {"amount": round(row[_SALES] / 100.0, 2), "currencyCode": currency},
        "totalOrderItems": row[_OI],
    }
    ident["trafficByAsin"] = {
        "browserSessions": bs,
        "mobileAppSessions": s - bs,
        "sessions": s,
        "browserSessionPercentage": round(bs * k_bs, 2) if bs else 0.0,
        "mobileAppSessionPercentage": round((s - bs) * k_ms, 2) if s - bs else 0.0,
        "sessionPercentage": round(s * k_s, 2) if s else 0.0,
        "browserPageViews": bpv,
        "mobileAppPageViews": pv - bpv,
        "pageViews": pv,
        "browserPageViewsPercentage": round(bpv * k_bpv, 2) if bpv else 0.0,
        "mobileAppPageViewsPercentage": round((pv - bpv) * k_mpv, 2) if pv - bpv else 0.0,
        "pageViewsPercentage": round(pv * k_pv, 2) if pv else 0.0,
        "buyBoxPercentage": round(row[_BBW] / pv, 2) if pv else 0.0,
        "unitSessionPercentage": _pct(row[_U], s),
    }
    return ident


def _date_row(
    world: World,
    seller: Seller,
    day: date,
    t: list[float],
    currency: str,
    offers: int,
    parents: int,
) -> dict:
    """One salesAndTrafficByDate row; refunds and feedback are small hashed shares of sales."""
    u = unit(world.seed, seller.index, day.toordinal(), "refunds")
    refunded = int(t[_U] * 0.03 * u * 2)
    feedback = int(t[_OI] * 0.05 + u)
    negative = int(feedback * 0.1 * u + 0.5 * u)
    items, sold = t[_OI], t[_U]
    return {
        "date": day.isoformat(),
        "salesByDate": {
            "orderedProductSales": _money(t[_SALES], currency),
            "unitsOrdered": sold,
            "totalOrderItems": items,
            "averageSalesPerOrderItem": _money(t[_SALES] / items if items else 0, currency),
            "averageUnitsPerOrderItem": round(sold / items, 2) if items else 0.0,
            "averageSellingPrice": _money(t[_SALES] / sold if sold else 0, currency),
            "unitsRefunded": refunded,
            "refundRate": _pct(refunded, sold),
            "claimsGranted": 0,
            "claimsAmount": _money(0, currency),
            "shippedProductSales": _money(t[_SALES], currency),
            "unitsShipped": sold,
            "ordersShipped": items,
        },
        "trafficByDate": {
            "browserPageViews": t[_BPV],
            "mobileAppPageViews": t[_PV] - t[_BPV],
            "pageViews": t[_PV],
            "browserSessions": t[_BS],
            "mobileAppSessions": t[_S] - t[_BS],
            "sessions": t[_S],
            "buyBoxPercentage": round(t[_BBW] / t[_PV], 2) if t[_PV] else 0.0,
            "orderItemSessionPercentage": _pct(items, t[_S]),
            "unitSessionPercentage": _pct(sold, t[_S]),
            "averageOfferCount": offers,
            "averageParentItems": parents,
            "feedbackReceived": feedback,
            "negativeFeedbackReceived": negative,
            "receivedNegativeFeedbackRate": _pct(negative, feedback),
        },
    }


MERCHANT_LISTING_COLUMNS = (
    "item-name",
    "item-description",
    "listing-id",
    "seller-sku",
    "price",
    "quantity",
    "open-date",
    "image-url",
    "item-is-marketplace",
    "product-id-type",
    "zshop-shipping-fee",
    "item-note",
    "item-condition",
    "zshop-category1",
    "zshop-browse-path",
    "zshop-storefront-feature",
    "asin1",
    "asin2",
    "asin3",
    "will-ship-internationally",
    "expedited-shipping",
    "zshop-boldface",
    "product-id",
    "bid-for-featured-placement",
    "add-delete",
    "pending-quantity",
    "fulfillment-channel",
    "merchant-shipping-group",
    "status",
)


def _tsv_cell(value: object) -> str:
    return str(value).replace("\t", " ").replace("\n", " ")


def build_merchant_listings(
    world: World,
    seller: Seller,
    *,
    as_of: datetime,
    base_url: str,
    marketplace: Marketplace | None = None,
) -> bytes:
    """GET_MERCHANT_LISTINGS_ALL_DATA: tab-separated, one line per listing offered in
    `marketplace` (None: the seller's first), priced in its currency, gzip'd."""
    market = marketplace or seller.home
    fba_channel = "AMAZON_NA" if seller.region == "NA" else "AMAZON_EU"
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=5, mtime=0) as gz:
        gz.write(("\t".join(MERCHANT_LISTING_COLUMNS) + "\n").encode())
        for p in offered_products(seller, market):
            listing = world.listing_at(seller, p, as_of)
            active = listing["status"] == "ACTIVE" and listing["quantity"] > 0
            cells = dict.fromkeys(MERCHANT_LISTING_COLUMNS, "")
            cells.update(
                {
                    "item-name": listing["title"],
                    "item-description": listing["description"],
                    "listing-id": p.created.strftime("%m%d") + p.fnsku[3:10],
                    "seller-sku": p.sku,
                    "price": f"{seller.local_price(listing['price_cents'], market) / 100:.2f}",
                    "quantity": "" if p.fba else listing["quantity"],
                    "open-date": p.created.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    "image-url": f"{base_url}/images/I/{listing['images']['MAIN']}.jpg",
                    "item-is-marketplace": "y",
                    "product-id-type": "1",
                    "item-condition": "11",
                    "asin1": p.asin,
                    "product-id": p.asin,
                    "pending-quantity": "0",
                    "fulfillment-channel": fba_channel if p.fba else "DEFAULT",
                    "merchant-shipping-group": "Migrated Template",
                    "status": "Active" if active else "Inactive",
                }
            )
            gz.write(
                ("\t".join(_tsv_cell(cells[c]) for c in MERCHANT_LISTING_COLUMNS) + "\n").encode()
            )
    return buffer.getvalue()


# -- the report state machine ------------------------------------------------------------


@dataclass(frozen=True)
class Timings:
    """How long a report waits IN_QUEUE before its turn, and works IN_PROGRESS, in simulated s."""

    queue_seconds: float
    work_seconds: float

    @classmethod
    def for_quota(cls, quota: str, queue_seconds: float | None = None) -> Timings:
        queue, work = ("0.2", "0.3") if quota == "relaxed" else ("5", "10")
        if queue_seconds is None:
            queue_seconds = float(os.environ.get("SIM_REPORT_QUEUE_SECONDS", queue))
        return cls(queue_seconds, float(os.environ.get("SIM_REPORT_WORK_SECONDS", work)))


@dataclass
class QueueHold:
    """A seller's queue held from `since` to `until` (simulated time); None type = every type."""

    since: datetime
    until: datetime
    report_type: str | None = None


@dataclass
class Report:
    report_id: str
    seller_id: str
    report_type: str
    marketplace_ids: list[str]
    created: datetime
    data_start: datetime | None
    data_end: datetime | None
    options: dict[str, str]
    outcome: str  # the final status: DONE, CANCELLED or FATAL
    stuck: bool = False
    corrupt: bool = False
    no_document: bool = False  # DONE without a reportDocumentId: nothing to report
    error_details: str = ""  # what a FATAL report's document says
    document_gone_after: float | None = None  # seconds after the end the document is purged
    cancelled_at: datetime | None = None
    document_id: str | None = None
    document: bytes | None = field(default=None, repr=False)
    # Set by the store's queue: when processing starts and ends (None: not scheduled yet).
    started: datetime | None = None
    ended: datetime | None = None

    def status(self, now: datetime) -> tuple[str, dict]:
        """processingStatus at `now` and the timestamps Amazon shows at that stage."""
        if self.cancelled_at is not None:
            return "CANCELLED", {"processingEndTime": self.cancelled_at}
        if self.started is None or self.ended is None or now < self.started:
            return "IN_QUEUE", {}
        if now < self.ended:
            return "IN_PROGRESS", {"processingStartTime": self.started}
        return self.outcome, {"processingStartTime": self.started, "processingEndTime": self.ended}

    def document_gone(self, now: datetime) -> bool:
        return (
            self.document_gone_after is not None
            and self.ended is not None
            and now >= self.ended + timedelta(seconds=self.document_gone_after)
        )


class ReportStore:
    """Reports by id, and one queue per (seller, report type).

    Amazon processes a seller's reports of one type one at a time: IN_QUEUE "may be
    waiting for another IN_PROGRESS report" (reports model), and waits of hours are
    reported (models#2509, docs#3273, docs#3502). A report starts `queue_seconds` after
    it was created, and never before the previous report of its queue has ended. A stuck
    report holds its queue until it is cancelled; a hold (a fault) delays every report
    that had not started when the hold was placed.
    """

    def __init__(self, seed: int, timings: Timings | None = None):
        self._reports: dict[str, Report] = {}
        self._documents: dict[str, Report] = {}
        self._queues: dict[tuple[str, str], list[Report]] = {}
        self._holds: dict[str, list[QueueHold]] = {}
        self._seq = 0
        self._seed = seed
        self.timings = timings or Timings(5.0, 10.0)
        self.lock = threading.Lock()
        # Serialises document builds, which can take a second or two on big worlds.
        self.build_lock = threading.Lock()

    def add(self, report: Report) -> Report:
        with self.lock:
            self._seq += 1
            report.report_id = str(50_000_000_000 + self._seq * 7919 % 10_000_000_000)
            if report.outcome == "FATAL" or (report.outcome == "DONE" and not report.no_document):
                tail = digest(self._seed, report.report_id, "doc", size=16).hex()
                report.document_id = (
                    f"amzn1.spdoc.1.4.na.{tail[:8]}-{tail[8:12]}-{tail[12:16]}-{tail[16:20]}-"
                    f"{tail[20:32]}.T{tail[:12].upper()}.{self._seq}"
                )
                self._documents[report.document_id] = report
            self._reports[report.report_id] = report
            self._queues.setdefault((report.seller_id, report.report_type), []).append(report)
            self._schedule(report.seller_id, report.report_type)
        return report

    def get(self, report_id: str, seller_id: str) -> Report | None:
        report = self._reports.get(report_id)
        return report if report and report.seller_id == seller_id else None

    def by_document(self, document_id: str) -> Report | None:
        return self._documents.get(document_id)

    def for_seller(self, seller_id: str) -> list[Report]:
        return sorted(
            (r for r in self._reports.values() if r.seller_id == seller_id),
            key=lambda r: (r.created, r.report_id),
            reverse=True,
        )

    def cancel(self, report: Report, now: datetime) -> str | None:
        """Cancel a report IN_QUEUE and free its place; else the status that forbids it."""
        with self.lock:
            status, _ = report.status(now)
            if status != "IN_QUEUE":
                return status
            report.cancelled_at = now
            self._schedule(report.seller_id, report.report_type)
        return None

    def hold(
        self, seller_id: str, *, now: datetime, seconds: float, report_type: str | None = None
    ) -> QueueHold:
        """Keep the seller's reports (of one type, or all) IN_QUEUE for `seconds` from now."""
        hold = QueueHold(since=now, until=now + timedelta(seconds=seconds), report_type=report_type)
        with self.lock:
            self._holds.setdefault(seller_id, []).append(hold)
            self._schedule_seller(seller_id)
        return hold

    def release(self, seller_id: str, now: datetime) -> None:
        """End the seller's holds now."""
        with self.lock:
            for hold in self._holds.get(seller_id, []):
                hold.until = min(hold.until, max(now, hold.since))
            self._schedule_seller(seller_id)

    def queue_json(self, seller_id: str, now: datetime) -> dict:
        """Per report type: how many reports wait and run, and the holds in force."""
        with self.lock:
            queues = {}
            for (seller, report_type), chain in sorted(self._queues.items()):
                if seller != seller_id:
                    continue
                statuses = [r.status(now)[0] for r in chain]
                queues[report_type] = {
                    "inQueue": statuses.count("IN_QUEUE"),
                    "inProgress": statuses.count("IN_PROGRESS"),
                }
            holds = [
                {
                    "reportType": h.report_type,
                    "since": h.since.isoformat(),
                    "until": h.until.isoformat(),
                }
                for h in self._holds.get(seller_id, [])
                if h.until > now
            ]
        return {"queues": queues, "holds": holds}

    def _schedule_seller(self, seller_id: str) -> None:
        for seller, report_type in list(self._queues):
            if seller == seller_id:
                self._schedule(seller, report_type)

    def _held(self, seller_id: str, report_type: str, start: datetime) -> datetime:
        """The start pushed past every hold that was placed before it started."""
        moved = True
        while moved:
            moved = False
            for hold in self._holds.get(seller_id, []):
                if hold.report_type not in (None, report_type):
                    continue
                if hold.since <= start < hold.until:
                    start, moved = hold.until, True
        return start

    def _schedule(self, seller_id: str, report_type: str) -> None:
        """Recompute when each report of one queue starts and ends (callers hold the lock).

        A pure function of the queue (creation times, cancellations, stuck reports, holds),
        so recomputing after a change never moves a report that had already started.
        """
        queue_s = timedelta(seconds=self.timings.queue_seconds)
        work_s = timedelta(seconds=self.timings.work_seconds)
        free: datetime | None = None  # when the previous report leaves the queue
        blocked = False  # a stuck report ahead keeps everyone behind it IN_QUEUE
        for report in self._queues.get((seller_id, report_type), []):
            if report.cancelled_at is not None:
                # Cancelled IN_QUEUE: it never ran, and the queue moves on when it is cancelled.
                report.started = report.ended = None
                free = report.cancelled_at if free is None else max(free, report.cancelled_at)
                continue
            if blocked or report.stuck:
                report.started = report.ended = None
                blocked = True
                continue
            start = report.created + queue_s
            if free is not None and free > start:
                start = free
            report.started = self._held(seller_id, report_type, start)
            report.ended = report.started + work_s
            free = report.ended


def had_activity(
    world: World, seller: Seller, start: date, end: date, marketplace: Marketplace | None = None
) -> bool:
    """Whether the seller had any session or unit in [start, end] (local days of `marketplace`).

    Stops at the first sign of activity, so an active seller costs one or two lookups;
    only a truly empty range walks every product and day.
    """
    for day in _days(start, end):
        for product in seller.products:
            st = world.day_stats(seller, product, day, marketplace)
            if st.sessions or st.units:
                return True
    return False
