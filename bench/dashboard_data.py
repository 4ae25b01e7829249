"""The dashboard benchmarks' data: one seller with N tracked products x D days, stored the
tracker's way (encrypted metric blocks, listings, changes, impacts) and, in the same run,
as a plaintext SQL table holding the same numbers.

    .venv/bin/python bench/dashboard_data.py --setup [--products 5000] [--days 730] [--keep]

Defaults are the issue's sizes (5,000 tracked products x 730 days); `--products 200 --days
120` is a quick check. The database is a throwaway PostgreSQL one, `cvr_bench` on
127.0.0.1:5432 as user postgres (override with BENCH_DATABASE_URL), created (dropped
first if it exists), migrated, filled and dropped at the end unless `--keep`.

The other dashboard benchmarks import this module: `bootstrap()` points Django at the
bench database before `django.setup()`, `prepare()` creates and fills it (or reuses a
kept one with `--reuse`), `drop()` removes it.

What is written, and how:
- a user (verified, password in the returned Dataset), its team, a seller connection
  (US marketplace) with its own data key;
- daily metrics of every product: sessions log-normal across products (median ~40 a day)
  with weekly and yearly seasonality and day-to-day noise, conversion 5-18% per product
  (stepped by the planted listing changes), page views, units, sales at the product's
  price, Buy Box 100% except planted losses; the last 2 days pending (sales, no
  sessions yet). The older days go straight into the blocks through the ingestion's own
  writer (`metrics.services._write`, the path every ingestion ends in); the last 14 days
  go through `metrics_ingest_days` with Amazon-shaped one-day reports, as the daily sync
  stores them. Both rates are printed: at 5,000 products the writer stored
  ~400,000 product-days/s and the report path (gzip JSON, parse, validate, then the
  same writer) ~115,000, so two years through reports would add about 25 s plus the
  time to build 716 documents; the stored blocks are the same either way;
- the account series (sums of the products' days) the same two ways;
- N Listings (tracked, buyable) with encrypted titles and content, a few hundred
  observed ListingChanges (title, bullet, main image, price, description) through
  `listing_changes_store`, plus Buy Box lost / won back changes where a loss is planted;
- a ChangeImpact per observed change through `impact.services.impact_store`, with
  figures computed from the change's own 14-day before/after windows (a simple log-ratio
  interval: plausible values, not the impact helper's method);
- the plaintext table `bench_plain_daily` (connection_id, asin, day, sessions,
  page_views, units, sales, buy_box), primary key (connection_id, asin, day) and an
  index on (connection_id, day), loaded with COPY. Pending days have NULL traffic.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MARKET = "ATVPDKIKX0DER"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cvr_bench"
EMAIL = "bench@example.com"
PASSWORD = "bench dashboard password 2026"  # noqa: S105 - a throwaway local database
PLAIN_TABLE = "bench_plain_daily"
PENDING_DAYS = 2
REPORT_DAYS = 14
# Fields of the observed changes, and how often each is planted.
CHANGE_FIELDS = ("title", "bullet", "main_image", "price", "description")


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def bootstrap(url: str | None = None) -> None:
    """Point Django at the bench database (BENCH_DATABASE_URL, default cvr_bench) and set it up.
    Call before importing any model."""
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url or database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvrtracker.settings")
    os.environ.setdefault("TRACKER_CLOCK", "system")
    import django

    django.setup()


def _admin(url: str):
    """A psycopg connection to the server's `postgres` database, autocommit."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    info = conninfo_to_dict(url)
    return psycopg.connect(make_conninfo(**{**info, "dbname": "postgres"}), autocommit=True)


def _name(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return conninfo_to_dict(url)["dbname"]


def drop(url: str | None = None) -> None:
    """Drop the bench database (closing Django's connections to it first)."""
    from django.db import connections

    connections.close_all()
    url = url or database_url()
    with _admin(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{_name(url)}" WITH (FORCE)')


def exists(url: str | None = None) -> bool:
    url = url or database_url()
    with _admin(url) as admin:
        return bool(
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_name(url)]).fetchone()
        )


@dataclass
class Dataset:
    """What the benchmarks need to find in the database they were given."""

    email: str
    password: str
    connection_id: int
    connection_code: str
    marketplace_id: str
    asins: list[str]
    first_day: date
    last_day: date
    changes: int = 0
    impacts: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def connection(self):
        from cvrtracker.amazon.models import SellerConnection

        return SellerConnection.objects.get(pk=self.connection_id)

    def user(self):
        from cvrtracker.accounts.models import User

        return User.objects.get(email=self.email)

    def to_json(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "timings"}
        data["first_day"], data["last_day"] = self.first_day.isoformat(), self.last_day.isoformat()
        return data


# -- the numbers ----------------------------------------------------------------------


@dataclass
class Numbers:
    """Every product's days as [product, day] arrays (traffic is 0 where pending)."""

    asins: list[str]
    parents: list[str]
    days: list[date]
    sessions: np.ndarray
    page_views: np.ndarray
    units: np.ndarray
    sales: np.ndarray  # cents
    buy_box: np.ndarray  # hundredths of a percent
    pending: np.ndarray  # bool [day]
    price: np.ndarray  # cents [product]
    # (product index, day index, field, lift) of each planted content change
    changes: list[tuple[int, int, str, float]]
    buy_box_losses: list[tuple[int, int, int]]  # (product, first day, last day)


def asin_of(i: int) -> str:
    return f"B0{(i * 7919 + 1234567) % 10**8:08d}"


def numbers(products: int, days: list[date], seed: int = 7) -> Numbers:
    """Realistic daily numbers for `products` products over `days` (see the docstring)."""
    rng = np.random.default_rng(seed)
    n, d = products, len(days)
    asins = [asin_of(i) for i in range(n)]
    # Variation families: 40% of the products in families of 4 under a parent ASIN.
    parents = [("P" + asin_of(i - i % 4)[1:]) if i < int(0.4 * n) else asins[i] for i in range(n)]
    base = rng.lognormal(np.log(40), 1.0, n).clip(1, 4000)
    t = np.arange(d)
    ordinal = np.array([day.toordinal() for day in days])
    weekly = 1 + 0.12 * np.cos(2 * np.pi * (ordinal % 7) / 7)
    yearly = 1 + 0.25 * np.cos(2 * np.pi * (ordinal - date(2020, 12, 10).toordinal()) / 365.25)
    growth = 1 + 0.15 * t / max(d, 1)
    noise = rng.lognormal(0, 0.15, (n, d))
    rate = base[:, None] * (weekly * yearly * growth)[None, :] * noise
    sessions = rng.poisson(rate)
    page_views = sessions + rng.poisson(0.35 * sessions)
    cvr = np.repeat(rng.uniform(0.05, 0.18, n)[:, None], d, axis=1)

    # Planted content changes: about 6% of the products get one, some two, spread over
    # the two years (a few in the last two weeks: "not enough data yet").
    changes: list[tuple[int, int, str, float]] = []
    changed = rng.choice(n, max(1, n * 6 // 100), replace=False)
    for i in changed:
        for _ in range(1 + int(rng.random() < 0.25)):
            at = int(rng.integers(min(20, d - 1), d))
            lift = float(rng.choice([0.0, 0.0, 0.1, 0.25, -0.15]))
            kind = str(rng.choice(CHANGE_FIELDS))
            cvr[i, at:] *= 1 + lift
            changes.append((int(i), at, kind, lift))
    cvr = cvr.clip(0.005, 0.6)

    buy_box = np.full((n, d), 10000, np.int64)
    losses = []
    for i in rng.choice(n, max(1, n * 3 // 100), replace=False):
        at = int(rng.integers(0, max(1, d - 7)))
        length = int(rng.integers(3, 10))
        buy_box[i, at : at + length] = int(rng.integers(1500, 6000))
        cvr[i, at : at + length] *= 0.5
        losses.append((int(i), at, min(d - 1, at + length - 1)))

    units = rng.binomial(sessions, cvr)
    price = (np.round(rng.uniform(9, 60, n)) * 100 - 1).astype(np.int64)
    sales = units * price[:, None]
    pending = np.zeros(d, bool)
    pending[-PENDING_DAYS:] = True
    sessions[:, pending] = 0
    page_views[:, pending] = 0
    return Numbers(
        asins=asins,
        parents=parents,
        days=days,
        sessions=sessions.astype(np.int64),
        page_views=page_views.astype(np.int64),
        units=units.astype(np.int64),
        sales=sales,
        buy_box=buy_box,
        pending=pending,
        price=price,
        changes=changes,
        buy_box_losses=losses,
    )


# -- storing them -----------------------------------------------------------------------


def _columns(num: Numbers, j: int, order: np.ndarray, account: bool):
    from cvrtracker.metrics.blocks import I32, I64, DayColumn
    from cvrtracker.metrics.models import MetricBlock

    s, v, u = num.sessions[:, j], num.page_views[:, j], num.units[:, j]
    pending = bool(num.pending[j])
    if account:
        total_s, total_u, total_v = int(s.sum()), int(u.sum()), int(v.sum())
        key = [MetricBlock.ACCOUNT_KEY]
        ints = np.array(
            [
                total_s,
                total_v,
                total_u,
                total_u,
                10000,
                round(10000 * total_u / total_s) if total_s else 0,
            ],
            dtype=I32,
        ).reshape(6, 1)
        return DayColumn(
            keys=key,
            parents=key,
            ints=ints,
            sales=np.array([int(num.sales[:, j].sum())], I64),
            pending=np.array([pending]),
        )
    # Amazon leaves out ASINs without activity that day.
    active = order[(s[order] > 0) | (u[order] > 0)]
    with np.errstate(divide="ignore", invalid="ignore"):
        usp = np.where(s[active] > 0, np.rint(10000 * u[active] / s[active]), 0)
    ints = np.stack([s[active], v[active], u[active], u[active], num.buy_box[active, j], usp])
    return DayColumn(
        keys=[num.asins[i] for i in active],
        parents=[num.parents[i] for i in active],
        ints=ints.astype(I32),
        sales=num.sales[active, j].astype(I64),
        pending=np.full(len(active), pending) | ((u[active] > 0) & (s[active] == 0)),
    )


def store_blocks(connection, num: Numbers, day_indexes: list[int]) -> float:
    """Days straight into the blocks with the ingestion's writer; returns seconds."""
    from django.db import transaction

    from cvrtracker.metrics.keys import ConnectionKeys
    from cvrtracker.metrics.services import _write, month_of

    keys = ConnectionKeys(connection)
    order = np.argsort(np.array(num.asins))
    by_month: dict[date, list[int]] = {}
    for j in day_indexes:
        by_month.setdefault(month_of(num.days[j]), []).append(j)
    started = time.perf_counter()
    for js in by_month.values():
        asin_cols = {num.days[j]: _columns(num, j, order, False) for j in js}
        account_cols = {num.days[j]: _columns(num, j, order, True) for j in js}
        with transaction.atomic():
            _write(keys, connection, MARKET, "asin", asin_cols, "USD")
            _write(keys, connection, MARKET, "account", account_cols, "USD")
    return time.perf_counter() - started


def report_document(num: Numbers, j: int) -> bytes:
    """The one-day CHILD Sales & Traffic document of day j, shaped like Amazon's, gzip'd."""
    day = num.days[j].isoformat()
    s, v, u, sales = num.sessions[:, j], num.page_views[:, j], num.units[:, j], num.sales[:, j]
    rows = []
    for i in np.flatnonzero((s > 0) | (u > 0)).tolist():
        si, ui = int(s[i]), int(u[i])
        rows.append(
            {
                "parentAsin": num.parents[i],
                "childAsin": num.asins[i],
                "salesByAsin": {
                    "unitsOrdered": ui,
                    "orderedProductSales": {"amount": int(sales[i]) / 100, "currencyCode": "USD"},
                    "totalOrderItems": ui,
                },
                "trafficByAsin": {
                    "sessions": si,
                    "pageViews": int(v[i]),
                    "buyBoxPercentage": int(num.buy_box[i, j]) / 100,
                    "unitSessionPercentage": round(100 * ui / si, 2) if si else 0.0,
                },
            }
        )
    total_s, total_u = int(s.sum()), int(u.sum())
    doc = {
        "reportSpecification": {
            "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
            "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
            "dataStartTime": day,
            "dataEndTime": day,
            "marketplaceIds": [MARKET],
        },
        "salesAndTrafficByDate": [
            {
                "date": day,
                "salesByDate": {
                    "orderedProductSales": {
                        "amount": int(sales.sum()) / 100,
                        "currencyCode": "USD",
                    },
                    "unitsOrdered": total_u,
                    "totalOrderItems": total_u,
                },
                "trafficByDate": {
                    "pageViews": int(v.sum()),
                    "sessions": total_s,
                    "buyBoxPercentage": 100.0,
                    "unitSessionPercentage": round(100 * total_u / total_s, 2) if total_s else 0,
                },
            }
        ],
        "salesAndTrafficByAsin": rows,
    }
    return gzip.compress(json.dumps(doc).encode(), compresslevel=5)


def ingest_reports(connection, num: Numbers, day_indexes: list[int]) -> float:
    """Days through metrics_ingest_days (parse, validate, encrypt, store); returns seconds
    (documents are built before the clock starts)."""
    from cvrtracker.metrics.services import metrics_ingest_days

    docs = {num.days[j]: report_document(num, j) for j in day_indexes}
    started = time.perf_counter()
    metrics_ingest_days(connection=connection, marketplace_id=MARKET, reports=docs)
    return time.perf_counter() - started


def _content(num: Numbers, i: int, title: str, image: str) -> dict:
    return {
        "title": title,
        "bullets": [f"Bench bullet {k} of product {i}: durable, simple, useful." for k in range(5)],
        "description": f"A product made for the dashboard benchmark, number {i}. " * 4,
        "images": [{"variant": "MAIN", "link": image}]
        + [{"variant": f"PT0{k}", "link": f"https://m.media.example/{i}-{k}.jpg"} for k in (1, 2)],
        "price": {"amount": f"{num.price[i] / 100:.2f}", "currency": "USD"},
        "fba_quantity": 40 + i % 60,
        "mfn_quantity": None,
        "status": ["BUYABLE", "DISCOVERABLE"],
        "issues": [],
        "brand": "Bench",
        "product_type": "HOME",
    }


def title_of(i: int) -> str:
    return f"Bench product {i} - stainless steel kitchen helper, {5 + i % 20} pieces"


def store_listings(connection, num: Numbers) -> None:
    from cvrtracker.listings.models import Listing
    from cvrtracker.metrics.keys import ConnectionKeys

    keys = ConnectionKeys(connection)
    rows = []
    for i, asin in enumerate(num.asins):
        listing = Listing(
            connection=connection,
            marketplace_id=MARKET,
            sku=f"BENCH-{i:06d}",
            asin=asin,
            status=Listing.Status.BUYABLE,
            tracking=Listing.Tracking.TRACKED,
            content_sync_id="bench",
        )
        listing.title_enc = keys.data.encrypt_str(title_of(i), aad=listing.aad("title"))
        content = _content(num, i, title_of(i), f"https://m.media.example/{i}-main.jpg")
        listing.content_enc = keys.data.encrypt_json(content, aad=listing.aad("content"))
        rows.append(listing)
    Listing.objects.bulk_create(rows, batch_size=1000)


def _payload(num: Numbers, i: int, kind: str) -> tuple[dict, int | None]:
    if kind == "price":
        new = int(num.price[i] * 0.9)
        return {
            "action": "changed",
            "before": {"amount": f"{num.price[i] / 100:.2f}", "currency": "USD"},
            "after": {"amount": f"{new / 100:.2f}", "currency": "USD"},
            "pct": -10.0,
        }, None
    if kind == "bullet":
        return {
            "action": "edited",
            "before": f"Bench bullet 2 of product {i}: durable, simple, useful.",
            "after": f"Bench bullet 2 of product {i}: rewritten to say what it is for.",
        }, 3
    if kind == "main_image":
        return {
            "action": "edited",
            "before": f"https://m.media.example/{i}-main.jpg",
            "after": f"https://m.media.example/{i}-main-v2.jpg",
        }, None
    if kind == "title":
        return {"action": "edited", "before": title_of(i), "after": title_of(i) + ", new"}, None
    return {"action": "edited", "before": "Old description.", "after": "New description."}, None


def _impact(num: Numbers, i: int, at: int):
    """A plausible Impact from the change's own 14-day windows (log-ratio interval)."""
    from cvrtracker.impact import types

    settled = ~num.pending
    before = [j for j in range(max(0, at - 15), at - 1) if settled[j]]
    after = [j for j in range(at + 1, min(len(num.days), at + 16)) if settled[j]]
    sb, ub = int(num.sessions[i, before].sum()), int(num.units[i, before].sum())
    sa, ua = int(num.sessions[i, after].sum()), int(num.units[i, after].sum())
    as_of = num.days[max(j for j in range(len(num.days)) if settled[j])]

    def window(js: list[int], s: int, u: int):
        if not js:
            return None
        return types.ImpactWindow(
            start=num.days[js[0]], end=num.days[js[-1]], days=len(js), sessions=s, units=u
        )

    final = len(after) >= 14
    if len(after) < 7 or ub < 5 or ua < 5 or not sb or not sa:
        ready = num.days[min(at, len(num.days) - 1)] + timedelta(days=15)
        return types.Impact(
            verdict=types.NOT_ENOUGH_DATA,
            lift=None,
            lift_low=None,
            lift_high=None,
            before=window(before, sb, ub),
            after=window(after, sa, ua),
            trend_adjusted=False,
            shortened=False,
            final=False,
            as_of=as_of,
            ready_on=ready,
            units_per_month=None,
            note="Fewer than 7 settled days after the change so far.",
        )
    ratio = (ua / sa) / (ub / sb)
    se = float(np.sqrt(1 / ua + 1 / ub) * 1.3)  # widened for day-to-day variation
    low, high = ratio * np.exp(-1.96 * se), ratio * np.exp(1.96 * se)
    verdict = types.IMPROVED if low > 1 else types.WORSENED if high < 1 else types.NO_CLEAR_EFFECT
    return types.Impact(
        verdict=verdict,
        lift=round(ratio - 1, 4),
        lift_low=round(float(low) - 1, 4),
        lift_high=round(float(high) - 1, 4),
        before=window(before, sb, ub),
        after=window(after, sa, ua),
        trend_adjusted=True,
        shortened=False,
        final=final,
        as_of=as_of,
        ready_on=None,
        units_per_month=round((ratio - 1) * ub / max(1, len(before)) * 30, 1),
        note="Bench data: 14 days before and after, log-ratio interval widened by 30%.",
    )


def store_changes(connection, num: Numbers) -> tuple[int, int]:
    """Observed content changes, derived Buy Box changes, and the observed ones' impacts."""
    from cvrtracker.impact.services import impact_store
    from cvrtracker.listings.changes import NewChange, listing_changes_store
    from cvrtracker.listings.models import Listing, ListingChange
    from cvrtracker.metrics.keys import ConnectionKeys

    keys = ConnectionKeys(connection)
    listings = {row.asin: row for row in Listing.objects.filter(connection=connection)}
    new = []
    for i, at, kind, _lift in num.changes:
        asin, day = num.asins[i], num.days[at]
        payload, position = _payload(num, i, kind)
        seen = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=15)
        new.append(
            NewChange(
                key=f"bench:{asin}:{kind}:{day}",
                field=kind,
                source=ListingChange.Source.OBSERVED,
                marketplace_id=MARKET,
                day=day,
                seen_after=seen - timedelta(hours=1),
                seen_at=seen,
                payload=payload,
                position=position,
                listing=listings[asin],
            )
        )
    for i, first, last in num.buy_box_losses:
        asin = num.asins[i]
        for j, action in ((first, "lost"), (last + 1, "won_back")):
            if j >= len(num.days):
                continue
            day = num.days[j]
            seen = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
            new.append(
                NewChange(
                    key=f"bench:{asin}:buy_box:{day}",
                    field=ListingChange.Field.BUY_BOX,
                    source=ListingChange.Source.DERIVED,
                    marketplace_id=MARKET,
                    day=day,
                    seen_after=seen - timedelta(days=1),
                    seen_at=seen,
                    payload={"action": action, "before": None, "after": None},
                    listing=listings[asin],
                )
            )
    stored = listing_changes_store(connection=connection, changes=new, keys=keys)
    index = {a: i for i, a in enumerate(num.asins)}
    day_index = {d: j for j, d in enumerate(num.days)}
    impacts = 0
    observed = ListingChange.objects.filter(
        connection=connection, source=ListingChange.Source.OBSERVED
    ).select_related("connection")
    for change in observed:
        impact = _impact(num, index[change.asin], day_index[change.day])
        impact_store(change=change, impact=impact, keys=keys)
        impacts += 1
    return stored, impacts


def store_plain(connection_id: int, num: Numbers) -> float:
    """The plaintext table with the same numbers; returns seconds (COPY on PostgreSQL)."""
    from django.db import connection as db

    started = time.perf_counter()
    with db.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        cursor.execute(
            f"""CREATE TABLE {PLAIN_TABLE} (
                connection_id integer NOT NULL,
                asin varchar(16) NOT NULL,
                day date NOT NULL,
                sessions integer,
                page_views integer,
                units integer NOT NULL,
                sales bigint NOT NULL,
                buy_box integer,
                PRIMARY KEY (connection_id, asin, day)
            )"""
        )
        n, d = num.sessions.shape
        day_text = [day.isoformat() for day in num.days]
        settled = ~num.pending
        if db.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {PLAIN_TABLE} FROM STDIN") as copy:
                for i in range(n):
                    s, v, u = num.sessions[i].tolist(), num.page_views[i].tolist(), num.units[i]
                    u, sales, bb = u.tolist(), num.sales[i].tolist(), num.buy_box[i].tolist()
                    buf = io.StringIO()
                    for j in range(d):
                        if settled[j]:
                            traffic = f"{s[j]}\t{v[j]}"
                            box = bb[j]
                        else:
                            traffic, box = "\\N\t\\N", "\\N"
                        buf.write(
                            f"{connection_id}\t{num.asins[i]}\t{day_text[j]}\t{traffic}\t"
                            f"{u[j]}\t{sales[j]}\t{box}\n"
                        )
                    copy.write(buf.getvalue())
        else:
            cursor.executemany(
                f"INSERT INTO {PLAIN_TABLE} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        connection_id,
                        num.asins[i],
                        day_text[j],
                        int(num.sessions[i, j]) if settled[j] else None,
                        int(num.page_views[i, j]) if settled[j] else None,
                        int(num.units[i, j]),
                        int(num.sales[i, j]),
                        int(num.buy_box[i, j]) if settled[j] else None,
                    )
                    for i in range(n)
                    for j in range(d)
                ],
            )
        cursor.execute(f"CREATE INDEX {PLAIN_TABLE}_day ON {PLAIN_TABLE} (connection_id, day)")
        if db.vendor == "postgresql":
            cursor.execute(f"ANALYZE {PLAIN_TABLE}")
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


def build(*, products: int, days: int, last_day: date | None = None, seed: int = 7) -> Dataset:
    """Fill the current database (already migrated) with the bench seller; returns the Dataset.
    `last_day` defaults to yesterday in the US marketplace (the dashboard's last whole day)."""
    from django.utils import timezone

    from cvrtracker.accounts.models import Membership, Team, User
    from cvrtracker.amazon.marketplaces import marketplace_today
    from cvrtracker.amazon.models import SellerConnection

    timings: dict[str, float] = {}
    last_day = last_day or marketplace_today(MARKET) - timedelta(days=1)
    all_days = [last_day - timedelta(days=days - 1 - k) for k in range(days)]
    started = time.perf_counter()
    num = numbers(products, all_days, seed)
    timings["generate"] = time.perf_counter() - started

    now = timezone.now()
    user = User.objects.create_user(
        EMAIL,
        PASSWORD,
        name="Bench Seller",
        email_verified_at=now,
        age_confirmed_at=now,
        privacy_policy_version="bench",
        privacy_policy_accepted_at=now,
    )
    team = Team.objects.create(name="Bench Seller's team")
    Membership.objects.create(user=user, team=team, role=Membership.Role.OWNER)
    connection = SellerConnection(
        team=team,
        created_by=user,
        region="NA",
        selling_partner_id=f"ABENCH{seed}",
        marketplaces=[
            {
                "id": MARKET,
                "name": "Amazon.com",
                "countryCode": "US",
                "defaultCurrencyCode": "USD",
                "domainName": "www.amazon.com",
            }
        ],
        authorized_at=now,
    )
    connection.create_data_key()
    connection.save()

    report_days = list(range(max(0, days - REPORT_DAYS), days))
    block_days = list(range(0, max(0, days - REPORT_DAYS)))
    timings["blocks_store"] = store_blocks(connection, num, block_days)
    timings["blocks_rows"] = len(block_days) * products
    timings["reports_ingest"] = ingest_reports(connection, num, report_days)
    timings["reports_rows"] = len(report_days) * products
    started = time.perf_counter()
    store_listings(connection, num)
    timings["listings"] = time.perf_counter() - started
    started = time.perf_counter()
    stored, impacts = store_changes(connection, num)
    timings["changes"] = time.perf_counter() - started
    timings["plain_copy"] = store_plain(connection.pk, num)
    from django.db import connection as db

    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")
    return Dataset(
        email=EMAIL,
        password=PASSWORD,
        connection_id=connection.pk,
        connection_code=str(connection.code),
        marketplace_id=MARKET,
        asins=num.asins,
        first_day=all_days[0],
        last_day=last_day,
        changes=stored,
        impacts=impacts,
        timings=timings,
    )


def load() -> Dataset:
    """The Dataset of a bench database filled earlier (kept with --keep)."""
    from cvrtracker.accounts.models import Membership
    from cvrtracker.amazon.models import SellerConnection
    from cvrtracker.listings.models import Listing, ListingChange
    from cvrtracker.metrics.models import MetricBlock

    team = Membership.objects.get(user__email=EMAIL).team
    connection = SellerConnection.objects.get(team=team)
    # The generator's ASINs are asin_of(0..n-1): count them instead of loading 50,000 rows.
    count = Listing.objects.filter(connection=connection, sku__startswith="BENCH-").count()
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(f"SELECT min(day), max(day) FROM {PLAIN_TABLE}")
        first, last = cursor.fetchone()
    assert MetricBlock.objects.filter(connection=connection).exists(), "no metrics stored"
    return Dataset(
        email=EMAIL,
        password=PASSWORD,
        connection_id=connection.pk,
        connection_code=str(connection.code),
        marketplace_id=MARKET,
        asins=[asin_of(i) for i in range(count)],
        first_day=first,
        last_day=last,
        changes=ListingChange.objects.filter(connection=connection).count(),
    )


def prepare(*, products: int, days: int, reuse: bool = False, quiet: bool = False) -> Dataset:
    """Create, migrate and fill the bench database (dropped first); with `reuse`, take a kept
    one as it is. Call after bootstrap()."""
    from django.core.management import call_command
    from django.db import connection as db

    url = database_url()
    if reuse and exists(url):
        db.ensure_connection()
        dataset = load()
        if not quiet:
            print(
                f"reusing {_name(url)}: {len(dataset.asins)} products, "
                f"{dataset.first_day} .. {dataset.last_day}"
            )
        return dataset
    drop(url)
    with _admin(url) as admin:
        admin.execute(f'CREATE DATABASE "{_name(url)}"')
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - started
    started = time.perf_counter()
    dataset = build(products=products, days=days)
    dataset.timings["migrate"] = migrate_s
    dataset.timings["total"] = time.perf_counter() - started
    if not quiet:
        report(dataset)
    return dataset


def report(dataset: Dataset) -> None:
    t = dataset.timings
    print(
        f"database {_name(database_url())}: {len(dataset.asins):,} products x "
        f"{(dataset.last_day - dataset.first_day).days + 1} days "
        f"({dataset.first_day} .. {dataset.last_day}), {dataset.changes} changes, "
        f"{dataset.impacts} impacts; built in {t.get('total', 0):.0f} s "
        f"(migrate {t.get('migrate', 0):.0f} s)"
    )
    if t.get("blocks_store"):
        print(
            f"  blocks, ingestion's writer:        {t['blocks_rows'] / t['blocks_store']:>10,.0f} "
            f"product-days/s ({t['blocks_store']:.1f} s)"
        )
    if t.get("reports_ingest"):
        print(
            f"  one-day reports, metrics_ingest_days: "
            f"{t['reports_rows'] / t['reports_ingest']:>7,.0f} "
            f"product-days/s ({t['reports_ingest']:.1f} s for {REPORT_DAYS} days)"
        )
    print(
        f"  listings {t.get('listings', 0):.1f} s, changes+impacts {t.get('changes', 0):.1f} s, "
        f"plaintext table (COPY + index) {t.get('plain_copy', 0):.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="create and fill the database")
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--drop", action="store_true", help="only drop a kept database")
    args = parser.parse_args()
    bootstrap()
    if args.drop:
        drop()
        return
    if not args.setup:
        parser.error("say --setup (or --drop)")
    try:
        prepare(products=args.products, days=args.days)
    finally:
        if not args.keep:
            drop()
            print("dropped the bench database (--keep keeps it)")


if __name__ == "__main__":
    main()
