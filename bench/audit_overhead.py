"""Audit write overhead per page: what recording the reads of a page costs it.

    .venv/bin/python bench/audit_overhead.py [--requests 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cvrtracker \
        .venv/bin/python bench/audit_overhead.py

On a fresh database (a temporary SQLite file, or a test database `test_<name>` made
beside DATABASE_URL's and dropped at the end), a team with three seller accounts;
its owner requests two pages that show Amazon data through Django's test client,
with the whole middleware stack:

- Settings → Amazon (`/amazon/`): three entries, one per account shown;
- the products page (`/amazon/<code>/products/`): one entry.

Per request the bench times the audit code alone: the views' audit calls
(`audit_context_from_request` and `audit_record`, wrapped) plus the one batched
write at the end of the request (`audit_write`: the transaction, one statement that
locks the team chain's head and reserves the numbers, the hashes, one INSERT that
also moves the head on PostgreSQL, the commit). It also times whole requests with
the audit calls turned into no-ops, interleaved with normal ones, as a cross-check.
Printed: median and p95 in ms. The machine's other load shows in the figures,
p95 most: note `uptime` beside them.

Goal (issue 13, item 10): under 2 ms per page.
"""

from __future__ import annotations

import argparse
import time

from page_database import ms, page_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    with page_database(prefix="audit-bench-"):
        from django.test import Client

        run(args.requests, Client)


def run(requests: int, Client) -> None:
    from django.db import connection

    import cvrtracker.amazon.views as views
    import cvrtracker.audit.services as services
    from cvrtracker.amazon.models import SellerConnection
    from cvrtracker.audit.models import AuditEntry
    from cvrtracker.test import make_user

    owner = make_user("bench@example.org")
    team = owner.membership.team
    accounts = []
    for n in range(3):
        account = SellerConnection(team=team, region="NA", selling_partner_id=f"A1BENCH{n}")
        account.create_data_key()
        account.store_name_enc = account.seal("store_name", f"Store {n}")
        account.save()
        accounts.append(account)
    client = Client()
    client.force_login(owner)

    spent: list[float] = []
    real_record, real_write = views.audit_record, services.audit_write
    real_context = views.audit_context_from_request

    def timed_context(request, **kwargs):
        started = time.perf_counter()
        try:
            return real_context(request, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    def timed_record(**kwargs):
        started = time.perf_counter()
        try:
            return real_record(**kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    def timed_write(entries, **kwargs):
        started = time.perf_counter()
        try:
            return real_write(entries, **kwargs)
        finally:
            spent.append(time.perf_counter() - started)

    def no_record(**kwargs):
        return None

    pages = {
        "Settings → Amazon (3 entries)": "/amazon/",
        "products page (1 entry)": f"/amazon/{accounts[0].code}/products/",
    }
    print(f"database: {connection.vendor}; {requests} requests per page and variant")
    for label, url in pages.items():
        for _ in range(20):  # warm up: imports, template cache, connection
            assert client.get(url).status_code == 200
        audit, with_audit, without = [], [], []
        for _ in range(requests):
            views.audit_record, services.audit_write = timed_record, timed_write
            views.audit_context_from_request = timed_context
            spent.clear()
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            with_audit.append(time.perf_counter() - started)
            audit.append(sum(spent))
            views.audit_record, services.audit_write = no_record, real_write
            views.audit_context_from_request = real_context
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            without.append(time.perf_counter() - started)
        views.audit_record, services.audit_write = real_record, real_write
        print(f"{label}:")
        print(f"  audit code per page        {ms(audit)}")
        print(f"  whole request, audited     {ms(with_audit)}")
        print(f"  whole request, no audit    {ms(without)}")
    entries = AuditEntry.objects.filter(team=team).count()
    print(f"entries written: {entries}")
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("audit_verify", "--team", str(team.code), stdout=out)
    print(out.getvalue().strip().splitlines()[0])


if __name__ == "__main__":
    main()
