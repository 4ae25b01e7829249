"""Benchmark: dashboard server time, each figure beside a plaintext SQL version of the same
query, in the same run on the same PostgreSQL database.

    .venv/bin/python bench/dashboard_speed.py [--products 5000] [--days 730] [--runs 30]
        [--keep] [--reuse]

Defaults are the issue's sizes (5,000 tracked products x 730 days, 30 requests each);
`--products 300 --days 120 --runs 10` is a quick check. The data is bench/dashboard_data.py's
(database cvr_bench, dropped at the end unless --keep; --reuse takes a kept one as is).

For each of the overview (30 days), the product table (30 days, sorted by the change in
conversion against the previous 30 days) and the product page (two years, with its
changes and their impact), it prints p50 and p95 of:
- page: the whole request inside Django (test Client: middleware, session, audit entry,
  view, template), logged in as the bench seller. "not built" when the page is still a
  placeholder (404, or the overview's no-account page): never a figure for a placeholder;
  for the product page also its data alone (dashboard/product.py's product_page_data:
  series, changes, impacts, bands), which the 50 ms target is about;
- selectors: what the page must read at least, through today's selectors over the
  encrypted blocks (metrics_product_table for both windows, ranking by conversion change,
  titles of the rows shown; the account series; one ASIN's series, its changes and their
  impacts), a floor under the page's time;
- plaintext SQL: the same numbers from the plaintext table (GROUP BY over both windows
  sorted by conversion change; the daily account series; one ASIN's two-year series).
The product page and its data are timed three ways: warm (Django's cache kept between
requests: every view of a product after its first since the last sync), empty cache
(emptied before each request: the first view of a product, or after a restart), and
after a sync (the latest month's blocks get a new version before each request, as when
the daily sync stores a day: its month is read again, the older months stay cached).
It also checks that the encrypted and plaintext versions rank the same top 50 products.
Targets (issue 10, point 9): overview and table <= 150 ms p95, product page data <= 50 ms.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import dashboard_data as data

# p95 targets (ms): the overview and table pages whole, the product page's data.
TARGETS = {"overview": 150, "table": 150, "product_data": 50}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed(
    fn: Callable[[], object], runs: int, *, before: Callable[[], object] | None = None
) -> tuple[list[float], object]:
    """Run fn once to warm up (connections, imports, caches), then time `runs` calls,
    each after `before()` when given (outside the timing)."""
    fn()
    samples, result = [], None
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return samples, result


def empty_cache() -> None:
    """Cold: nothing derived is cached (the first view of a product and range)."""
    from django.core.cache import cache

    cache.clear()


def sync_latest_month(connection) -> Callable[[], None]:
    """After a sync: the latest month's blocks get a new version, as when the daily sync
    stores a day (the figures are unchanged, the caches keyed by block versions are not)."""
    from django.db.models import F

    from cvrtracker.metrics.models import MetricBlock

    latest = MetricBlock.objects.filter(connection=connection).order_by("-month").first().month

    def bump() -> None:
        MetricBlock.objects.filter(connection=connection, month=latest).update(
            version=F("version") + 1
        )

    return bump


# -- plaintext SQL --------------------------------------------------------------------

TABLE_SQL = f"""
SELECT asin,
       sum(sessions) FILTER (WHERE day >= %(start)s) AS sessions,
       sum(page_views) FILTER (WHERE day >= %(start)s) AS page_views,
       sum(units) FILTER (WHERE day >= %(start)s) AS units,
       sum(sales) FILTER (WHERE day >= %(start)s) AS sales,
       sum(units) FILTER (WHERE day >= %(start)s AND sessions IS NOT NULL) AS settled_units,
       sum(sessions) FILTER (WHERE day < %(start)s) AS prev_sessions,
       sum(units) FILTER (WHERE day < %(start)s AND sessions IS NOT NULL) AS prev_settled_units
FROM {data.PLAIN_TABLE}
WHERE connection_id = %(connection)s AND day BETWEEN %(prev_start)s AND %(end)s
GROUP BY asin
"""
RANKED_SQL = f"""
SELECT asin, sessions, page_views, units, sales, settled_units,
       (settled_units::float8 / NULLIF(sessions, 0))
       / NULLIF(prev_settled_units::float8 / NULLIF(prev_sessions, 0), 0) - 1 AS change
FROM ({TABLE_SQL}) AS t
ORDER BY change DESC NULLS LAST, asin
LIMIT %(limit)s
"""
DAILY_SQL = f"""
SELECT day, sum(sessions), sum(page_views), sum(units), sum(sales)
FROM {data.PLAIN_TABLE}
WHERE connection_id = %(connection)s AND day BETWEEN %(prev_start)s AND %(end)s
GROUP BY day ORDER BY day
"""
SERIES_SQL = f"""
SELECT day, sessions, page_views, units, sales, buy_box
FROM {data.PLAIN_TABLE}
WHERE connection_id = %(connection)s AND asin = %(asin)s AND day BETWEEN %(start)s AND %(end)s
ORDER BY day
"""


def sql(query: str, params: dict) -> list[tuple]:
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


# -- the encrypted storage, through the selectors -------------------------------------


def ranked_by_change(connection, marketplace_id: str, period, limit: int):
    """Products of the period ranked by the change in conversion against the previous
    period (descending, None last, ties by ASIN), as (asin, change) pairs."""
    from cvrtracker.metrics.selectors import metrics_product_table

    now = metrics_product_table(
        connection=connection, marketplace_id=marketplace_id, start=period.start, end=period.end
    )
    before = {
        row.asin: row.conversion_rate
        for row in metrics_product_table(
            connection=connection,
            marketplace_id=marketplace_id,
            start=period.previous_start,
            end=period.previous_end,
        )
    }
    ranked = []
    for row in now:
        previous, current = before.get(row.asin), row.conversion_rate
        change = current / previous - 1 if current is not None and previous else None
        ranked.append((row.asin, change, row))
    ranked.sort(key=lambda r: (r[1] is None, -(r[1] or 0), r[0]))
    return ranked[:limit]


def titles(connection, asins: list[str]) -> dict[str, str]:
    from cvrtracker.listings.models import Listing
    from cvrtracker.metrics.keys import ConnectionKeys

    keys = ConnectionKeys(connection)
    rows = Listing.objects.filter(connection=connection, asin__in=asins).only(
        "code", "asin", "title_enc"
    )
    return {
        row.asin: keys.data.decrypt_str(bytes(row.title_enc), aad=row.aad("title"))
        for row in rows
        if row.title_enc
    }


def overview_selectors(connection, marketplace_id: str, period):
    from cvrtracker.listings.changes import listing_change_payload
    from cvrtracker.listings.models import ListingChange
    from cvrtracker.metrics.keys import ConnectionKeys
    from cvrtracker.metrics.selectors import metrics_account_series

    series = metrics_account_series(
        connection=connection,
        marketplace_id=marketplace_id,
        start=period.previous_start,
        end=period.end,
    )
    movers = ranked_by_change(connection, marketplace_id, period, 5)
    keys = ConnectionKeys(connection)
    recent = list(
        ListingChange.objects.filter(connection=connection, marketplace_id=marketplace_id).order_by(
            "-day", "-id"
        )[:10]
    )
    payloads = [listing_change_payload(change=c, keys=keys) for c in recent]
    names = titles(connection, [a for a, _, _ in movers] + [c.asin for c in recent])
    return series, movers, payloads, names


def table_selectors(connection, marketplace_id: str, period):
    ranked = ranked_by_change(connection, marketplace_id, period, 50)
    return ranked, titles(connection, [a for a, _, _ in ranked])


def product_selectors(connection, marketplace_id: str, asin: str, start, end):
    from cvrtracker.impact.selectors import impact_for_changes
    from cvrtracker.listings.changes import listing_change_payload
    from cvrtracker.listings.models import Listing, ListingChange
    from cvrtracker.listings.services import listing_content
    from cvrtracker.metrics.keys import ConnectionKeys
    from cvrtracker.metrics.selectors import metrics_product_series

    series = metrics_product_series(
        connection=connection, asin=asin, start=start, end=end, marketplace_id=marketplace_id
    )
    keys = ConnectionKeys(connection)
    changes = list(
        ListingChange.objects.filter(
            connection=connection, marketplace_id=marketplace_id, asin=asin, day__gte=start
        ).order_by("day", "id")
    )
    payloads = [listing_change_payload(change=c, keys=keys) for c in changes]
    impacts = impact_for_changes(connection=connection, changes=changes, keys=keys)
    listing = Listing.objects.filter(
        connection=connection, marketplace_id=marketplace_id, asin=asin
    ).first()
    content = listing_content(connection=connection, listing=listing)
    return series, payloads, impacts, content


# -- pages ----------------------------------------------------------------------------


def page_client(dataset):
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(dataset.user())
    return client


def page_state(name: str, response) -> str:
    """'' when the page is built, else why it is not."""
    if response.status_code != 200:
        return f"not built (HTTP {response.status_code})"
    body = response.content.decode(errors="replace") if not response.streaming else ""
    if name == "overview" and "No Amazon account connected yet" in body:
        return "not built (placeholder)"
    return ""


def page_urls(dataset, product_asin: str) -> dict[str, str]:
    from django.urls import reverse

    scope = f"account={dataset.connection_code}&marketplace={dataset.marketplace_id}"
    return {
        "overview": f"{reverse('dashboard:overview')}?{scope}&period=30",
        "table": f"{reverse('dashboard:products')}?{scope}&period=30&sort=-conversion_change",
        "product": reverse(
            "dashboard:product",
            args=[dataset.connection_code, dataset.marketplace_id, product_asin],
        )
        + "?period=730",
    }


def product_data_function():
    """The product page's data function (dashboard/product.py's product_page_data(*, scope,
    period, asin)), or None while the page is not built: it is "page data" in the table."""
    try:
        from cvrtracker.dashboard import product
    except ImportError:
        return None
    return getattr(product, "product_page_data", None)


def busiest_changed_asin(connection) -> str:
    """The product with the most changes (the heaviest product page of the data)."""
    from django.db.models import Count

    from cvrtracker.listings.models import ListingChange

    row = (
        ListingChange.objects.filter(connection=connection)
        .values("asin")
        .annotate(n=Count("id"))
        .order_by("-n", "asin")
        .first()
    )
    return row["asin"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    data.bootstrap()
    dataset = data.prepare(products=args.products, days=args.days, reuse=args.reuse)
    try:
        run(dataset, args.runs)
    finally:
        if not args.keep:
            data.drop()
            print("dropped the bench database (--keep keeps it)")


def run(dataset, runs: int) -> None:
    import logging
    import os

    from django.db import connection as db
    from django.http import QueryDict

    from cvrtracker.dashboard.scope import dashboard_scope_for_user, period_from_query

    # A placeholder's 404 is reported in the table, not logged.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    user = dataset.user()
    connection = dataset.connection()
    scope = dashboard_scope_for_user(user=user, account=dataset.connection_code)
    period = period_from_query(scope, QueryDict("period=30"))
    long = period_from_query(scope, QueryDict("period=730"))
    market = scope.marketplace_id
    asin = busiest_changed_asin(connection)
    with db.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    print(
        f"{platform.node()}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; {version}; Python {platform.python_version()}; "
        f"load average {os.getloadavg()[0]:.1f} (other work shares the machine)"
    )
    print(
        f"period {period.start}..{period.end} vs {period.previous_start}..{period.previous_end}; "
        f"product page {asin}, {long.start}..{long.end}; {runs} runs each\n"
    )
    params = {
        "connection": dataset.connection_id,
        "start": period.start,
        "end": period.end,
        "prev_start": period.previous_start,
    }

    rows: dict[str, dict[str, tuple[float, float] | str]] = {}

    # The page itself.
    client = page_client(dataset)
    first: dict[str, float] = {}
    for name, url in page_urls(dataset, asin).items():
        started = time.perf_counter()
        response = client.get(url)
        first[name] = (time.perf_counter() - started) * 1000
        state = page_state(name, response)
        if state:
            rows.setdefault(name, {})["page"] = state
            continue
        samples, _ = timed(lambda url=url: client.get(url), runs)
        rows.setdefault(name, {})["page"] = percentiles(samples)
        if name == "product":
            samples, _ = timed(lambda url=url: client.get(url), runs, before=empty_cache)
            rows["product_cold"] = {"page": percentiles(samples)}
            synced = sync_latest_month(dataset.connection())
            samples, _ = timed(lambda url=url: client.get(url), runs, before=synced)
            rows["product_synced"] = {"page": percentiles(samples)}

    samples, _ = timed(lambda: overview_selectors(connection, market, period), runs)
    rows["overview"]["selectors"] = percentiles(samples)
    samples, _ = timed(
        lambda: (sql(DAILY_SQL, params), sql(RANKED_SQL, {**params, "limit": 5})), runs
    )
    rows["overview"]["sql"] = percentiles(samples)

    samples, (ranked, _) = timed(lambda: table_selectors(connection, market, period), runs)
    rows["table"]["selectors"] = percentiles(samples)
    samples, plain = timed(lambda: sql(RANKED_SQL, {**params, "limit": 50}), runs)
    rows["table"]["sql"] = percentiles(samples)

    samples, (series, _, impacts, _) = timed(
        lambda: product_selectors(connection, market, asin, long.start, long.end), runs
    )
    rows["product"]["selectors"] = percentiles(samples)
    series_params = {**params, "asin": asin, "start": long.start, "end": long.end}
    samples, plain_series = timed(lambda: sql(SERIES_SQL, series_params), runs)
    rows["product"]["sql"] = percentiles(samples)

    # The product page's own data function, once the product page provides it.
    data_fn = product_data_function()
    rows["product_data"] = {
        "selectors": rows["product"]["selectors"],
        "sql": rows["product"]["sql"],
    }
    if data_fn is None:
        rows["product_data"]["page"] = "not built"
    else:
        samples, _ = timed(lambda: data_fn(scope=scope, period=long, asin=asin), runs)
        rows["product_data"]["page"] = percentiles(samples)
        samples, _ = timed(
            lambda: data_fn(scope=scope, period=long, asin=asin), runs, before=empty_cache
        )
        rows["product_data_cold"] = {**rows["product_data"], "page": percentiles(samples)}
        samples, _ = timed(
            lambda: data_fn(scope=scope, period=long, asin=asin),
            runs,
            before=sync_latest_month(connection),
        )
        rows["product_data_synced"] = {**rows["product_data"], "page": percentiles(samples)}
    for name in ("product_cold", "product_data_cold", "product_synced", "product_data_synced"):
        if name in rows:
            rows[name].setdefault("selectors", rows["product"]["selectors"])
            rows[name].setdefault("sql", rows["product"]["sql"])

    def cell(value) -> str:
        if isinstance(value, str):
            return f"{value:>24}"
        return f"{value[0]:8.1f} / {value[1]:7.1f} ms  "

    print(
        f"{'server time, p50 / p95':<24}{'page':>24}{'selectors (encrypted)':>26}"
        f"{'plaintext SQL':>24}   target p95"
    )
    for name, label in (
        ("overview", "overview, 30 days"),
        ("table", "product table, 30 days"),
        ("product", "product page, 730 days"),
        ("product_data", "  its data (730 days)"),
        ("product_cold", "  same, empty cache"),
        ("product_data_cold", "  its data, empty cache"),
        ("product_synced", "  same, after a sync"),
        ("product_data_synced", "  its data, after sync"),
    ):
        if name not in rows:
            continue
        r = rows[name]
        page = r["page"]
        target = TARGETS.get(name.removesuffix("_cold").removesuffix("_synced"))
        verdict = (
            ""
            if isinstance(page, str) or target is None
            else (" met" if page[1] <= target else " NOT met")
        )
        goal = f"<= {target} ms{verdict}" if target else "(target on its data)"
        print(f"{label:<24}{cell(page)}{cell(r['selectors'])}{cell(r['sql'])}   {goal}")

    built = [name for name in first if not isinstance(rows[name]["page"], str)]
    if built:
        print(
            "first request of each built page (templates loaded, caches filled; the figures "
            "above are the 30 after it): "
            + ", ".join(f"{name} {first[name]:.0f} ms" for name in built)
        )
    same = sum(1 for (a, _, _), b in zip(ranked, plain, strict=False) if a == b[0])
    print(
        f"\ntop 50 by conversion change: {same} of 50 in the same place in both versions; "
        f"product series {len(series)} days (plaintext {len(plain_series)} rows), "
        f"{len(impacts)} impacts"
    )


if __name__ == "__main__":
    main()
