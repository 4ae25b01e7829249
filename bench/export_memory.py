"""Benchmark: peak process memory of a 50,000-row export, CSV and XLSX.

    .venv/bin/python bench/export_memory.py [--products 50000] [--days 60] [--keep] [--reuse]

Defaults are the issue's size; `--products 5000` is a quick check. The largest realistic
export is the product table of a 50,000-product seller (one row per product, with its
title decrypted and its figures summed over the period and the previous one): the
product series has at most 730 rows, and the change history of even a large seller is
smaller. The data is bench/dashboard_data.py's, in its own database (cvr_bench_export,
or BENCH_DATABASE_URL), dropped at the end unless --keep.

Each export runs in a fresh child process (this script with --child), which reads its
own peak resident memory (VmHWM in /proc/self/status) before and after, and consumes the
response as a server would send it. The child is meant to look like a web process serving
the request: Django set up, the URLconf loaded, the user logged in, and no data of the
bench's own. It is told the seller's ids and the product count on its command line
(`Seller`): it does not load the bench's Dataset, whose list of 50,000 generated ASINs
(~4 MB of Python strings) no web process holds. Until 2026-12 the child did load it, and
every figure below included those 4 MB. The writer kind makes its ASINs one row at a time.

The view, series and changes kinds are served as gunicorn (the production server, a sync
worker) serves them: the child has gunicorn's worker modules loaded, and the request goes
through cvrtracker.wsgi's application with the session cookie of a log-in the parent made.
Until 2026-12 they went through Django's test Client, which logged in inside the child:
django.test imports jinja2, unittest and the test runner's helpers (+3.4 MB measured after
django.setup()), which a gunicorn worker never loads; gunicorn's own modules are +0.8 MB,
and the middleware both load is the same (~2 MB). Those figures were ~2.5 MB higher for
that reason alone.
Kinds:
- writer: dashboard/exports.py's export_response alone, fed 50,000 rows of the table's
  shape made on the fly (no database): what the export helper itself costs;
- helper: the table's rows through the selector the export view uses
  (dashboard/table.py's product_table_rows: 30 days, titles, stock and suppression
  decrypted) streamed through dashboard/exports.py's export_response, without the
  request around it;
- view: GET /dashboard/products.<fmt>?period=30 as the seller (test Client), when the view
  is built ("not built" otherwise);
- series: the product page's daily series download (two years asked; the product with the
  most changes), which reads one shard's month blocks of the stored range;
- changes: the seller account's whole change history download, with each change's impact.
`--kinds view,changes` runs some of them only.
Prints rows, bytes, the resident memory before the export (Django and the apps loaded),
the peak once the response object exists (the data read; for XLSX also the spool file
written), the peak at the end, and what the export added.
Target (issue 10, point 6): a 50,000-row export under 100 MB of process memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cvr_bench_export"
os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL)

import dashboard_data as data  # noqa: E402

HEADER = [
    "ASIN",
    "SKU",
    "Title",
    "Sessions",
    "Page views",
    "Units ordered",
    "Ordered product sales",
    "Conversion (units / sessions)",
    "Conversion, previous period",
    "Conversion change",
]


def memory() -> dict[str, int]:
    """This process's current and peak resident memory, in KB."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":")
                found[name] = int(value.split()[0])
    return found


@dataclass(frozen=True)
class Seller:
    """What a child needs to find the bench's seller: ids and names, not its products."""

    email: str
    connection_id: int
    connection_code: str
    marketplace_id: str
    products: int
    # The session cookie of a log-in made by the parent (the served kinds send it).
    session: str = ""

    @classmethod
    def of(cls, dataset) -> Seller:
        return cls(
            email=dataset.email,
            connection_id=dataset.connection_id,
            connection_code=dataset.connection_code,
            marketplace_id=dataset.marketplace_id,
            products=len(dataset.asins),
        )

    def connection(self):
        from cvrtracker.amazon.models import SellerConnection

        return SellerConnection.objects.get(pk=self.connection_id)

    def user(self):
        from cvrtracker.accounts.models import User

        return User.objects.get(email=self.email)


def helper_response(dataset, fmt: str):
    """The table's rows as the export view reads them (dashboard/table.py's
    product_table_rows for the 30-day period, tracked products, the default sort;
    titles, stock and suppression decrypted) streamed through dashboard/exports.py's
    export_response: the view's code path without the request around it."""
    from django.http import QueryDict

    from cvrtracker.dashboard.exports import export_response
    from cvrtracker.dashboard.scope import dashboard_scope_for_user, period_from_query
    from cvrtracker.dashboard.table import (
        EXPORT_HEADER,
        export_row,
        product_table_rows,
        table_params_from_query,
    )

    user = dataset.user()
    scope = dashboard_scope_for_user(user=user, account=dataset.connection_code)
    period = period_from_query(scope, QueryDict("period=30"))
    params = table_params_from_query(QueryDict())
    rows = product_table_rows(scope=scope, period=period, params=params, trend=False)
    response = export_response(
        fmt=fmt,
        filename="products",
        header=EXPORT_HEADER,
        rows=(export_row(row) for row in rows),
    )
    return response, None


def writer_response(dataset, fmt: str):
    """export_response alone, fed rows of the table's shape made on the fly (no database):
    what the export helper itself holds while it writes."""
    from cvrtracker.dashboard.exports import export_response

    n = dataset.products

    def rows():
        for i in range(n):
            yield [
                data.asin_of(i),
                f"BENCH-{i:06d}",
                data.title_of(i),
                1200 + i % 977,
                1600 + i % 1301,
                110 + i % 97,
                (110 + i % 97) * 24.99,
                0.0917,
                0.0883,
                0.0385,
            ]

    return export_response(fmt=fmt, filename="products", header=HEADER, rows=rows()), n


# What a gunicorn sync worker has imported before it serves a request (the arbiter forks
# it from there); the served kinds load them before the baseline is read.
GUNICORN_MODULES = ("gunicorn.app.wsgiapp", "gunicorn.arbiter", "gunicorn.workers.sync")


def served(dataset, url: str):
    """GET `url` as gunicorn serves it: cvrtracker.wsgi's application called with a WSGI
    environ (as gunicorn.http.wsgi builds it) and the seller's session cookie; the
    response is what the worker then iterates and sends."""
    import io

    from django.conf import settings

    from cvrtracker.wsgi import application

    path, _, query = url.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={dataset.session}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    # Django's handler returns the HttpResponse itself (no wsgi.file_wrapper given).
    return application(environ, lambda status, headers, exc_info=None: None)


def view_response(dataset, fmt: str):
    from django.urls import reverse

    url = (
        reverse("dashboard:products_export", args=[fmt])
        + f"?account={dataset.connection_code}&marketplace={dataset.marketplace_id}&period=30"
    )
    return served(dataset, url), None


def series_response(dataset, fmt: str):
    """The product page's daily series download of the product with the most changes,
    over the whole stored range (at most 730 rows: what matters is what it reads)."""
    import dashboard_speed as speed
    from django.urls import reverse

    asin = speed.busiest_changed_asin(dataset.connection())
    url = reverse(
        "dashboard:product_series_export",
        args=[dataset.connection_code, dataset.marketplace_id, asin, fmt],
    )
    return served(dataset, url + "?period=730"), None


def changes_response(dataset, fmt: str):
    """The seller account's whole change history download (every change, with its impact)."""
    from django.urls import reverse

    url = reverse("dashboard:account_changes_export", args=[dataset.connection_code, fmt])
    return served(dataset, url), None


SERVED = {"view", "series", "changes"}
KINDS = {
    "writer": writer_response,
    "helper": helper_response,
    "view": view_response,
    "series": series_response,
    "changes": changes_response,
}


def child(kind: str, fmt: str, seller: str) -> None:
    import importlib
    import logging

    if kind in SERVED:
        for name in GUNICORN_MODULES:
            importlib.import_module(name)
    data.bootstrap()
    logging.getLogger("django.request").setLevel(logging.ERROR)
    dataset = Seller(**json.loads(seller))
    before = memory()
    started = time.perf_counter()
    make = KINDS[kind]
    response, rows = make(dataset, fmt)
    # What reading the data (selectors, titles) and, for XLSX, writing the spool file took;
    # CSV rows are made while the response is consumed below.
    prepared = memory()
    if response.status_code != 200:
        print(json.dumps({"status": response.status_code}))
        return
    size, lines = 0, 0
    content = response.streaming_content if response.streaming else [response.content]
    # The XLSX file is kept on disk to count its rows after the peak is read.
    with tempfile.TemporaryFile() as spool:
        for chunk in content:
            size += len(chunk)
            if fmt == "csv":
                lines += chunk.count(b"\n")
            else:
                spool.write(chunk)
        if hasattr(response, "close"):
            response.close()
        after = memory()
        elapsed = time.perf_counter() - started
        if fmt == "xlsx" and rows is None:
            from openpyxl import load_workbook

            spool.seek(0)
            lines = sum(1 for _ in load_workbook(spool, read_only=True).active.iter_rows())
    print(
        json.dumps(
            {
                "status": 200,
                "rows": rows if rows is not None else max(0, lines - 1),
                "bytes": size,
                "seconds": elapsed,
                "baseline_kb": before["VmRSS"],
                "prepared_kb": prepared["VmHWM"],
                "peak_kb": after["VmHWM"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="which exports, comma-separated (default: all)"
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("KIND", "FORMAT", "SELLER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    data.bootstrap()
    dataset = data.prepare(products=args.products, days=args.days, reuse=args.reuse)
    try:
        run(dataset, [k for k in args.kinds.split(",") if k])
    finally:
        if not args.keep:
            data.drop()
            print("dropped the bench database (--keep keeps it)")


def run(dataset, kinds: list[str]) -> None:
    import dashboard_speed as speed
    from django.conf import settings
    from django.db import connections

    # The served kinds' session: logged in here, so the measured child only sends the
    # cookie, as a browser does.
    session = speed.page_client(dataset).cookies[settings.SESSION_COOKIE_NAME].value
    connections.close_all()
    seller = json.dumps(asdict(replace(Seller.of(dataset), session=session)))
    print(f"\nexports of a {len(dataset.asins):,}-product seller (table: period 30 days)")
    print(
        f"{'export':<14}{'rows':>8}{'MB':>8}{'s':>7}{'start MB':>10}{'response MB':>13}"
        f"{'peak MB':>9}{'added MB':>10}  target < 100 MB"
    )
    for kind in kinds:
        for fmt in ("csv", "xlsx"):
            answer = subprocess.run(
                [sys.executable, __file__, "--child", kind, fmt, seller],
                capture_output=True,
                text=True,
                check=False,
                env=os.environ,
            )
            lines = [ln for ln in answer.stdout.splitlines() if ln.startswith("{")]
            if not lines:
                print(f"{kind + ' ' + fmt:<14} failed: {answer.stderr.strip()[-400:]}")
                continue
            result = json.loads(lines[-1])
            if result["status"] != 200:
                print(f"{kind + ' ' + fmt:<14} not built (HTTP {result['status']})")
                continue
            peak = result["peak_kb"] / 1024
            print(
                f"{kind + ' ' + fmt:<14}{result['rows']:>8,}{result['bytes'] / 1e6:>8.1f}"
                f"{result['seconds']:>7.1f}{result['baseline_kb'] / 1024:>10.0f}"
                f"{result['prepared_kb'] / 1024:>13.0f}{peak:>9.0f}"
                f"{peak - result['baseline_kb'] / 1024:>10.0f}  "
                f"{'met' if peak < 100 else 'NOT met'}"
            )


if __name__ == "__main__":
    main()
