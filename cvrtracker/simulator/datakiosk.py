"""Data Kiosk 2023-11-15: GraphQL queries over the Sales and Traffic schema, and their documents.

What Amazon documents and the simulator does the same way:
- a query is GraphQL text checked against the schema
  (shared/specs/sp-api/datakiosk-schema_analytics_salesAndTraffic_2024-04-24.graphql); the model
  caps it at 8,000 characters "after unnecessary whitespace is removed"
  (CreateQuerySpecification.query in dataKiosk_2023-11-15.json);
- "The start date must be no more than two years ago" (startDate in the schema);
- salesAndTrafficTrends takes filters of one marketplace and "up to 30 child ASINs" each, and
  only CHILD aggregation ("currently only CHILD supported"); "The response includes only ASINs
  with available data": an ASIN without traffic or sales in a period has no row;
- WEEK and MONTH narrow the range to whole weeks (Sunday..Saturday) and months inside it;
- a query goes IN_QUEUE → IN_PROGRESS → DONE (or FATAL with an error document, or CANCELLED);
  "A processingStatus of DONE with no errorDocumentId or dataDocumentId ... means that the
  request completed with no data" (Data Kiosk use case guide,
  developer-docs.amazon.com/sp-api/docs/data-kiosk-api-v2023-11-15-use-case-guide);
- the data document is JSONL: one JSON object per line, each the selected fields of one item
  of the queried list (same guide); the error document is JSON.

Simplifications (said in the README): results are never split into pages (no
pagination.nextToken), and queries of one seller run in parallel (Amazon "limits the number
of concurrent non-terminal queries per selling partner", without saying how many).

Numbers come from the same world as the Sales & Traffic report: a CHILD/DAY trends row of an
ASIN equals the by-ASIN row of the one-day CHILD report of that day (tests compare them).
Every day number is read through `day_stats` below, the one place that calls the world.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values
from graphql.utilities import strip_ignored_characters

from . import reports as rp
from .hashing import digest, unit
from .specs import specs_dir
from .world import HISTORY_DAYS, DayStats, Marketplace, Product, Seller, World

SCHEMA_FILE = "datakiosk-schema_analytics_salesAndTraffic_2024-04-24.graphql"
ROOT_FIELD = "analytics_salesAndTraffic_2024_04_24"
TRENDS = "salesAndTrafficTrends"
BY_DATE = "salesAndTrafficByDate"
SERVED = (TRENDS, BY_DATE)
MAX_QUERY_CHARS = 8000
MAX_ASINS_PER_FILTER = 30
# The by-ASIN share fields: percentages of the period's totals over ALL the seller's products.
SHARE_FIELDS = frozenset(
    {
        "browserSessionPercentage",
        "mobileAppSessionPercentage",
        "sessionPercentage",
        "browserPageViewsPercentage",
        "mobileAppPageViewsPercentage",
        "pageViewsPercentage",
    }
)


class QueryError(ValueError):
    """The query is not one the simulator (or Amazon) accepts: answered 400."""


# -- the one place that reads the world ------------------------------------------------------


def day_stats(
    world: World, seller: Seller, product: Product, day: date, marketplace: Marketplace, as_of: date
) -> DayStats:
    """One product on one local day of `marketplace`, as Amazon shows it on `as_of` (traffic
    of the last days still 0, units and sales not yet revised): what the report shows."""
    return world.day_stats(seller, product, day, marketplace, as_of)


def seller_marketplaces(world: World, seller: Seller) -> list[Marketplace]:
    """Where the seller sells and Sales & Traffic is offered (not Ireland, models#4718;
    whether Data Kiosk refuses it too is unverified, so it is refused like the report)."""
    return [m for m in seller.marketplaces if m.sales_and_traffic]


def marketplace_today(world: World, marketplace: Marketplace) -> date:
    return world.today(marketplace)


# -- parsing and validation -----------------------------------------------------------------


@cache
def schema() -> GraphQLSchema:
    return build_schema((specs_dir() / SCHEMA_FILE).read_text())


# A selection: (response key, field name, sub-selection or None for a leaf).
Shape = list[tuple[str, str, "Shape | None"]]


@dataclass(frozen=True)
class QuerySpec:
    operation: str  # TRENDS or BY_DATE
    start: date
    end: date
    date_granularity: str
    filters: tuple[tuple[str, tuple[str, ...]], ...]  # (marketplace id, child ASINs)
    marketplace_ids: tuple[str, ...]
    shape: Shape
    # The response key of the list field and of its root, to find them in the JSON.
    wants_shares: bool


def parse_query(text: str, *, today: date, allowed_marketplaces: set[str]) -> QuerySpec:
    """The query's meaning, or QueryError in words close to Amazon's."""
    if not isinstance(text, str) or not text.strip():
        raise QueryError("The query is required.")
    try:
        document = parse(text)
    except GraphQLError as error:
        raise QueryError(f"Invalid query: {error.message}") from None
    if len(strip_ignored_characters(text)) > MAX_QUERY_CHARS:
        raise QueryError(f"The query is longer than {MAX_QUERY_CHARS} characters.")
    errors = validate(schema(), document)
    if errors:
        raise QueryError("Invalid query: " + "; ".join(e.message for e in errors[:5]))
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        raise QueryError("Submit exactly one query operation.")
    if operations[0].variable_definitions:
        raise QueryError("Data Kiosk queries take no variables: write the values inline.")
    roots = _fields(operations[0].selection_set, fragments)
    if len(roots) != 1 or roots[0].name.value != ROOT_FIELD:
        raise QueryError(f"Query exactly one field, {ROOT_FIELD}.")
    inner = _fields(roots[0].selection_set, fragments)
    if len(inner) != 1:
        raise QueryError("Query exactly one dataset field per query.")
    node = inner[0]
    name = node.name.value
    if name not in SERVED:
        raise QueryError(f"{name} is not served by this simulator (only {', '.join(SERVED)}).")
    field_def = schema().type_map["Analytics_SalesAndTraffic_2024_04_24"].fields[name]
    args = get_argument_values(field_def, node)
    start, end = date.fromisoformat(args["startDate"]), date.fromisoformat(args["endDate"])
    if end < start:
        raise QueryError("endDate is before startDate.")
    if start < today - timedelta(days=HISTORY_DAYS):
        raise QueryError("The start date must be no more than two years ago.")
    granularity = args.get("dateAggregation") or args.get("aggregateBy")
    filters: list[tuple[str, tuple[str, ...]]] = []
    if name == TRENDS:
        if args["asinAggregation"] != "CHILD":
            raise QueryError("asinAggregation: currently only CHILD is supported.")
        if not args["filters"]:
            raise QueryError("filters takes at least one marketplace filter.")
        for f in args["filters"]:
            asins = tuple(dict.fromkeys(f["asins"]))
            if not 1 <= len(f["asins"]) <= MAX_ASINS_PER_FILTER:
                raise QueryError(
                    f"A filter takes 1 to {MAX_ASINS_PER_FILTER} ASINs, not {len(f['asins'])}."
                )
            filters.append((f["marketplaceId"], asins))
        markets = tuple(dict.fromkeys(m for m, _ in filters))
    else:
        markets = tuple(dict.fromkeys(args["marketplaceIds"]))
        if not markets:
            raise QueryError("marketplaceIds takes at least one marketplace.")
    unknown = [m for m in markets if m not in allowed_marketplaces]
    if unknown:
        raise QueryError(f"The seller does not sell in {', '.join(unknown)}.")
    shape = _shape(node.selection_set, fragments)
    return QuerySpec(
        operation=name,
        start=start,
        end=end,
        date_granularity=granularity,
        filters=tuple(filters),
        marketplace_ids=markets,
        shape=shape,
        wants_shares=_wants_shares(shape),
    )


def _fields(selection_set: SelectionSetNode | None, fragments: dict) -> list[FieldNode]:
    """The fields of a selection, fragments flattened (the schema has no interfaces)."""
    out: list[FieldNode] = []
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FieldNode):
            out.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            out += _fields(sel.selection_set, fragments)
        elif isinstance(sel, FragmentSpreadNode):
            out += _fields(fragments[sel.name.value].selection_set, fragments)
    return out


def _shape(selection_set: SelectionSetNode | None, fragments: dict) -> Shape:
    shape: Shape = []
    for node in _fields(selection_set, fragments):
        key = node.alias.value if node.alias else node.name.value
        sub = _shape(node.selection_set, fragments) if node.selection_set else None
        shape.append((key, node.name.value, sub))
    return shape


def _wants_shares(shape: Shape) -> bool:
    return any(name in SHARE_FIELDS or bool(sub and _wants_shares(sub)) for _, name, sub in shape)


def project(row: dict, shape: Shape, typename: str = "") -> dict:
    """The selected fields of a full row, under their response keys (None when not populated)."""
    out: dict[str, Any] = {}
    for key, name, sub in shape:
        if name == "__typename":
            out[key] = typename
            continue
        value = row.get(name)
        out[key] = project(value, sub) if sub is not None and isinstance(value, dict) else value
    return out


# -- the numbers ------------------------------------------------------------------------------

_S, _BS, _PV, _BPV, _U, _OI, _SALES, _BBW = range(8)


def periods(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    """Amazon narrows WEEK to whole Sunday..Saturday weeks and MONTH to whole months inside."""
    out = []
    day = start
    while day <= end:
        if granularity == "DAY":
            last = day
        elif granularity == "WEEK":
            first = day + timedelta(days=(6 - day.weekday()) % 7)  # the next Sunday (or today)
            if first != day:
                day = first
                continue
            last = day + timedelta(days=6)
        else:
            if day.day != 1:
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
                continue
            last = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        if last > end:
            break
        out.append((day, last))
        day = last + timedelta(days=1)
    return out


class Numbers:
    """Day sums for one query, as the report counts them (traffic of the last days still 0)."""

    def __init__(self, world: World, seller: Seller, marketplace: Marketplace, as_of: date):
        self.world, self.seller, self.marketplace = world, seller, marketplace
        self.as_of = as_of
        self.last_day = as_of - timedelta(days=1)
        self.products = rp.offered_products(seller, marketplace)
        self._totals: dict[date, list[float]] = {}

    def product_day(self, product: Product, day: date) -> list[float]:
        acc = [0.0] * 8
        if day > self.last_day:
            return acc
        st = day_stats(self.world, self.seller, product, day, self.marketplace, self.as_of)
        if st.page_views:
            acc[_S], acc[_BS] = st.sessions, st.browser_sessions
            acc[_PV], acc[_BPV] = st.page_views, st.browser_page_views
            acc[_BBW] = st.buy_box_pct * st.page_views
        acc[_U], acc[_OI], acc[_SALES] = st.units, st.order_items, st.sales_cents
        return acc

    def totals(self, day: date) -> list[float]:
        """All the seller's products on one day (the shares' denominators, the by-date row)."""
        if day not in self._totals:
            acc = [0.0] * 8
            for product in self.products:
                for i, v in enumerate(self.product_day(product, day)):
                    acc[i] += v
            self._totals[day] = acc
        return self._totals[day]

    def period_totals(self, first: date, last: date) -> list[float]:
        return _sum(self.totals(d) for d in _days(first, last))


def _days(first: date, last: date) -> Iterator[date]:
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)


def _sum(rows: Iterator[list[float]]) -> list[float]:
    acc = [0.0] * 8
    for row in rows:
        for i, v in enumerate(row):
            acc[i] += v
    return acc


def _int(value: float) -> int:
    return int(round(value))


def trends_row(
    numbers: Numbers,
    product: Product,
    first: date,
    last: date,
    row: list[float],
    totals: list[float] | None,
) -> dict:
    """One SalesAndTrafficTrends item; its traffic block is the report's trafficByAsin."""
    currency = numbers.marketplace.currency
    units = _int(row[_U])
    u = unit(numbers.world.seed, numbers.seller.index, product.index, first.toordinal(), "refund")
    refunded = int(units * 0.03 * u * 2)
    ident = {"parentAsin": product.parent_asin, "childAsin": product.asin}
    shares = tuple(totals[i] for i in (_S, _BS, _PV, _BPV)) if totals else (0, 0, 0, 0)
    counts: list = [_int(v) for v in row]
    counts[_BBW] = row[_BBW]
    as_report = rp._asin_row(ident, counts, shares, currency)
    traffic = as_report["trafficByAsin"]
    if totals is None:
        for name in SHARE_FIELDS:
            traffic.pop(name, None)
    sales = as_report["salesByAsin"]
    return {
        "asinAggregation": "CHILD",
        "parentAsin": product.parent_asin,
        "childAsin": product.asin,
        "marketplaceId": numbers.marketplace.id,
        "startDate": first.isoformat(),
        "endDate": last.isoformat(),
        "sales": {
            **sales,
            "ordersShipped": sales["totalOrderItems"],
            "shippedProductSales": sales["orderedProductSales"],
            "unitsShipped": units,
            "unitsRefunded": refunded,
            "refundRate": rp._pct(refunded, units),
        },
        "traffic": traffic,
    }


def by_date_row(numbers: Numbers, first: date, last: date) -> dict:
    """One SalesAndTrafficByDate item: the report's by-date row under the schema's names."""
    seller, market = numbers.seller, numbers.marketplace
    t = [0.0] * 8
    for day in _days(first, last):
        day_t = list(numbers.totals(day))
        # Account sessions count a shopper once, however many ASINs they saw: the same
        # share of the by-ASIN sum as the report's by-date row (sp-api-semantics.md §4).
        share = rp.account_sessions_share(numbers.world, seller, day, market)
        day_t[_S], day_t[_BS] = int(day_t[_S] * share), int(day_t[_BS] * share)
        t = [a + b for a, b in zip(t, day_t, strict=True)]
    parents = len({p.parent_asin for p in numbers.products})
    t = [v if i == _BBW else _int(v) for i, v in enumerate(t)]
    row = rp._date_row(
        numbers.world, seller, first, t, market.currency, len(numbers.products), parents
    )
    return {
        "startDate": first.isoformat(),
        "endDate": last.isoformat(),
        "marketplaceId": numbers.marketplace.id,
        "sales": row["salesByDate"],
        "traffic": row["trafficByDate"],
    }


def result_rows(world: World, seller: Seller, spec: QuerySpec, as_of: date) -> Iterator[dict]:
    """Every item of the queried list, in full (project() keeps the selected fields)."""
    markets = {m.id: m for m in seller_marketplaces(world, seller)}
    if spec.operation == BY_DATE:
        for market_id in spec.marketplace_ids:
            numbers = Numbers(world, seller, markets[market_id], as_of)
            for first, last in periods(spec.start, spec.end, spec.date_granularity):
                if first > numbers.last_day:
                    break
                yield by_date_row(numbers, first, last)
        return
    for market_id, asins in spec.filters:
        numbers = Numbers(world, seller, markets[market_id], as_of)
        products = [p for a in asins if (p := seller.product_by_asin(a)) is not None]
        for first, last in periods(spec.start, spec.end, spec.date_granularity):
            if first > numbers.last_day:
                break
            totals = numbers.period_totals(first, last) if spec.wants_shares else None
            for product in products:
                row = _sum(numbers.product_day(product, d) for d in _days(first, last))
                # "The response includes only ASINs with available data."
                if row[_S] == 0 and row[_PV] == 0 and row[_U] == 0:
                    continue
                yield trends_row(numbers, product, first, last, row, totals)


def build_document(
    world: World, seller: Seller, spec: QuerySpec, as_of: date, *, corrupt: bool = False
) -> bytes | None:
    """The gzip'd JSONL data document, or None when the query found no data."""
    typename = "SalesAndTrafficTrends" if spec.operation == TRENDS else "SalesAndTrafficByDate"
    lines = [
        json.dumps(project(row, spec.shape, typename), separators=(",", ":"))
        for row in result_rows(world, seller, spec, as_of)
    ]
    if not lines:
        return None
    text = "\n".join(lines) + "\n"
    if corrupt:
        text = cut_mid_line(text)
    return gzip.compress(text.encode(), mtime=0)


def cut_mid_line(text: str) -> str:
    """`text` (JSON lines) cut inside its middle line, never at a line's end, whatever the
    numbers: valid gzip, malformed JSONL (a prefix of a JSON object does not parse)."""
    start = text.rfind("\n", 0, len(text) // 2) + 1
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    return text[: start + max(1, (end - start) // 2)]


def error_document(message: str) -> bytes:
    return gzip.compress(json.dumps({"errorMessage": message}).encode(), mtime=0)


# -- the query state machine ---------------------------------------------------------------


@dataclass
class Query:
    query_id: str
    seller_id: str
    text: str
    spec: QuerySpec
    created: datetime
    as_of: date  # the marketplace day the query was asked on: the numbers as they stood then
    outcome: str  # DONE or FATAL
    stuck: bool = False
    corrupt: bool = False
    cancelled_at: datetime | None = None
    built: bool = False
    data_document_id: str | None = None
    error_document_id: str | None = None
    documents: dict[str, bytes] = field(default_factory=dict, repr=False)
    # Per query: a 5,000-product by-date build takes a minute and must not hold up others.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def status(self, now: datetime, queue_s: float, work_s: float) -> tuple[str, dict]:
        if self.cancelled_at is not None:
            return "CANCELLED", {"processingEndTime": self.cancelled_at}
        started = self.created + timedelta(seconds=queue_s)
        ended = started + timedelta(seconds=work_s)
        if self.stuck or now < started:
            return "IN_QUEUE", {}
        if now < ended:
            return "IN_PROGRESS", {"processingStartTime": started}
        return self.outcome, {"processingStartTime": started, "processingEndTime": ended}


class QueryStore:
    def __init__(self, seed: int):
        self._queries: dict[str, Query] = {}
        self._documents: dict[str, Query] = {}
        self._seq = 0
        self._seed = seed
        self.lock = threading.Lock()

    def add(self, query: Query, world: World | None = None) -> Query:
        """Store a new query; with `world`, start building its answer in the background
        (what Amazon does while the query is IN_QUEUE / IN_PROGRESS), so a getQuery
        never waits a minute for a 5,000-product by-date build."""
        with self.lock:
            self._seq += 1
            query.query_id = str(70_000_000_000 + self._seq * 7919 % 10_000_000_000)
            self._queries[query.query_id] = query
        if world is not None and not query.stuck:
            threading.Thread(target=self.finish, args=(world, query), daemon=True).start()
        return query

    def get(self, query_id: str, seller_id: str) -> Query | None:
        query = self._queries.get(query_id)
        return query if query and query.seller_id == seller_id else None

    def for_seller(self, seller_id: str) -> list[Query]:
        return sorted(
            (q for q in self._queries.values() if q.seller_id == seller_id),
            key=lambda q: (q.created, q.query_id),
            reverse=True,
        )

    def by_document(self, document_id: str) -> Query | None:
        return self._documents.get(document_id)

    def _document_id(self, query: Query, kind: str) -> str:
        tail = digest(self._seed, query.query_id, kind, size=16).hex()
        return f"amzn1.tortuga.4.na.{tail[:8]}-{tail[8:12]}-{tail[12:16]}.T{tail[16:30].upper()}"

    def finish(self, world: World, query: Query) -> None:
        """Build the query's document once it is DONE or FATAL (with the data as it was asked)."""
        with query.lock:
            if query.built:
                return
            seller = world.seller(query.seller_id)
            assert seller is not None  # noqa: S101 - queries exist only for known sellers
            if query.outcome == "FATAL":
                doc_id = self._document_id(query, "error")
                query.documents[doc_id] = error_document(
                    "The query could not be processed. Try again later."
                )
                query.error_document_id = doc_id
            else:
                data = build_document(world, seller, query.spec, query.as_of, corrupt=query.corrupt)
                if data is not None:
                    doc_id = self._document_id(query, "data")
                    query.documents[doc_id] = data
                    query.data_document_id = doc_id
            with self.lock:
                for doc_id in query.documents:
                    self._documents[doc_id] = query
            query.built = True

    def document(self, document_id: str) -> bytes | None:
        query = self._documents.get(document_id)
        return query.documents.get(document_id) if query else None
