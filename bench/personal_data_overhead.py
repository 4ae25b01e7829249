"""Personal-data encryption's cost on a page: Settings → Team with its members and
invitations, every name and address of which is decrypted to be shown.

    .venv/bin/python bench/personal_data_overhead.py [--members 25] [--invitations 25]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cvrtracker \
        .venv/bin/python bench/personal_data_overhead.py

On a fresh database (a temporary SQLite file, or a test database `test_<name>` made
beside DATABASE_URL's and dropped at the end), the owner of a team of `--members`
members with `--invitations` open invitations requests the team page through Django's
test client (whole middleware stack) `--requests` times. Every call the page makes
to the encryption (lib/fields.py: `unseal` opening a value, `seal` encrypting one,
`blind_indexes` computing an index) is counted and timed around the real function.

Printed: the page's mean and median time; per page, how many values were opened,
sealed and indexed, and the time spent in them (the encryption's added cost: without
it the page would read the same columns as text); and, separately, one `unseal`'s
cost measured alone, times the count per page, as a cross-check.

Goal (issue 15, item 5): the encryption adds under 5 ms to a page.
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
    parser.add_argument("--members", type=int, default=25)
    parser.add_argument("--invitations", type=int, default=25)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="personal-bench-")
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
        run(args)
    finally:
        from cvrtracker.privacy.usage import usage_flush

        usage_flush()  # the page views' usage events, while their database is there
        if postgres:
            connection.creation.destroy_test_db(settings.DATABASES["default"]["NAME"], 0)


class Meter:
    """Counts and times the calls of one function of lib/fields.py."""

    def __init__(self, module, name: str):
        self.module, self.name, self.real = module, name, getattr(module, name)
        self.calls, self.seconds = 0, 0.0
        setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.real(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1

    def reset(self) -> None:
        self.calls, self.seconds = 0, 0.0


def run(args) -> None:
    from django.test import Client
    from django.urls import reverse

    from cvrtracker.accounts.models import Invitation, Membership, User
    from cvrtracker.lib import fields
    from cvrtracker.test import make_user

    owner = make_user("owner@example.org")
    team = owner.membership.team
    for n in range(args.members - 1):
        make_user(f"member{n}@example.org", team=team, role=Membership.Role.MEMBER)
    for n in range(args.invitations):
        Invitation.objects.create(team=team, email=f"invitee{n}@example.org", invited_by=owner)

    client = Client()
    client.force_login(User.objects.get(pk=owner.pk))
    url = reverse("accounts:team")
    for _ in range(10):  # warm up (templates, caches, connections)
        assert client.get(url).status_code == 200

    meters = {name: Meter(fields, name) for name in ("unseal", "seal", "blind_indexes")}
    pages, spent = [], []
    counts = {name: [] for name in meters}
    for _ in range(args.requests):
        for meter in meters.values():
            meter.reset()
        start = time.perf_counter()
        response = client.get(url)
        pages.append(time.perf_counter() - start)
        assert response.status_code == 200
        spent.append(sum(meter.seconds for meter in meters.values()))
        for name, meter in meters.items():
            counts[name].append(meter.calls)
    for name, meter in meters.items():
        setattr(fields, name, meter.real)

    # One unseal alone, on a real ciphertext of an address.
    row = User.objects.get(pk=owner.pk)
    sealed = row.__dict__["email"]
    aad = User._meta.get_field("email").aad(row)
    loops = 20000
    start = time.perf_counter()
    for _ in range(loops):
        fields.unseal(sealed, aad=aad)
    one = (time.perf_counter() - start) / loops

    ms = 1000
    print(f"team page: {args.members} members, {args.invitations} invitations, "
          f"{args.requests} requests, {connection_vendor()}")  # fmt: skip
    print(f"  page time          mean {statistics.fmean(pages) * ms:7.3f} ms   "
          f"median {statistics.median(pages) * ms:7.3f} ms")  # fmt: skip
    print("  per page: " + ", ".join(f"{name} ×{max(c)}" for name, c in counts.items()))
    mean, median, worst = statistics.fmean(spent), statistics.median(spent), max(spent)
    print(f"  in encryption      mean {mean * ms:7.3f} ms   "
          f"median {median * ms:7.3f} ms   max {worst * ms:7.3f} ms")  # fmt: skip
    opened = max(counts["unseal"])
    print(f"  one unseal alone   {one * 1e6:7.2f} µs  × {opened} = {opened * one * ms:.3f} ms")


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor


if __name__ == "__main__":
    main()
