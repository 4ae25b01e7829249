"""What encrypting personal data (issue 15, lib/fields.py) adds to a page.

    .venv/bin/python bench/personal_data_cost.py [--requests 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cvrtracker \
        .venv/bin/python bench/personal_data_cost.py

On a fresh database (a temporary SQLite file, or a test database `test_<name>` made
beside DATABASE_URL's and dropped at the end), a team owner has 60 audit entries, each
with an IP address, a browser and a detail, all encrypted. Two pages, through Django's
test client with the whole middleware stack:

- the access log (Settings → Team → Access log, 50 entries a page): every entry's IP
  address, browser and detail are opened to render it;
- Settings → Privacy with the usage middleware in the stack, its batch of 50 events
  written every 50th request (from the response's close(), which the test client
  calls before it returns): each event's IP address, browser and page are encrypted.

Every encryption and decryption (lib/fields.seal / unseal) is timed while the pages
run. Printed per page: the page's median and mean time, and the time spent encrypting
and decrypting per request (how many of each). Goal (issue 15): under 5 ms a page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="pii-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvrtracker.settings")
    os.environ.setdefault("SPECS_DIR", str(ROOT.parent / "shared" / "specs"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    postgres = connection.vendor == "postgresql"
    if postgres:
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    else:
        call_command("migrate", verbosity=0)
    try:
        run(args.requests)
    finally:
        if postgres:
            connection.creation.destroy_test_db(settings.DATABASES["default"]["NAME"], 0)


class CryptoClock:
    """Times lib/fields.seal and unseal, which every encrypted field goes through."""

    def __init__(self):
        import cvrtracker.lib.fields as fields

        self.fields = fields
        self.real = {"seal": fields.seal, "unseal": fields.unseal}
        self.spent = {"seal": 0.0, "unseal": 0.0}
        self.count = {"seal": 0, "unseal": 0}

    def __enter__(self):
        for name, function in self.real.items():
            setattr(self.fields, name, self._timed(name, function))
        return self

    def __exit__(self, *exc):
        for name, function in self.real.items():
            setattr(self.fields, name, function)

    def _timed(self, name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - started
                self.count[name] += 1

        return wrapper

    def reset(self):
        self.spent = {"seal": 0.0, "unseal": 0.0}
        self.count = {"seal": 0, "unseal": 0}


def measure(client, url: str, requests: int, clock: CryptoClock) -> None:
    for _ in range(30):  # warm up: imports, templates, connection
        assert client.get(url).status_code == 200
    clock.reset()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    crypto = (clock.spent["seal"] + clock.spent["unseal"]) / requests * 1000
    print(f"  {url}")
    print(
        f"    page                 median {statistics.median(times) * 1000:7.3f} ms   "
        f"mean {statistics.fmean(times) * 1000:7.3f} ms"
    )
    print(
        f"    encryption           {crypto:7.3f} ms per request "
        f"({clock.count['seal'] / requests:.1f} encryptions, "
        f"{clock.count['unseal'] / requests:.1f} decryptions per request)"
    )


def run(requests: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client, RequestFactory

    from cvrtracker.audit.models import AuditEntry
    from cvrtracker.audit.services import audit_context_from_request, audit_record
    from cvrtracker.privacy.usage import usage_flush
    from cvrtracker.test import make_user

    owner = make_user("bench-owner@example.org")
    agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    for n in range(60):
        request = RequestFactory().get("/", REMOTE_ADDR=f"203.0.113.{n}", HTTP_USER_AGENT=agent)
        request.user = owner
        audit_record(
            action=AuditEntry.Action.PROFILE_CHANGED,
            context=audit_context_from_request(request),
            detail=f"Bench Owner {n} → Bench Owner {n + 1}",
        )
    client = Client(REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT=agent)
    client.force_login(owner)
    print(
        f"database: {connection.vendor}; {requests} requests a page; usage batches of "
        f"{settings.USAGE_FLUSH_EVENTS} events"
    )
    with CryptoClock() as clock:
        measure(client, "/accounts/settings/team/access-log/", requests, clock)
        measure(client, "/settings/privacy/", requests, clock)
    usage_flush()  # before the test database goes


if __name__ == "__main__":
    main()
