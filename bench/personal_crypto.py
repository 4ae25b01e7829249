"""What encrypting personal data costs a page (issue 15, point 5: goal under 5 ms).

    .venv/bin/python bench/personal_crypto.py [--requests 200]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cvrtracker \
        .venv/bin/python bench/personal_crypto.py

On a fresh database (a temporary SQLite file, or a test database `test_<name>` made
beside DATABASE_URL's and dropped at the end): a team of an owner and 24 members, 10 open
invitations, 60 audit entries with IP addresses and browsers, the owner's 5 sessions.
The owner requests, through Django's test client with the whole middleware stack, the
pages that show the most personal data:

- Settings → Team (`/accounts/settings/team/`): 25 names and emails, 10 invitation emails;
- the access log (`/accounts/settings/team/access-log/`): 50 entries, their people, IPs
  and browsers;
- Settings → Security (`/accounts/settings/security/`): the sessions' IPs and browsers,
  the owner's own events;
- Settings → Profile.

Per request it times everything the encryption does: opening and sealing values
(lib/fields.py `seal`/`unseal`, used by every encrypted column and by the session
store, lib/sessions.py) and computing blind indexes (`blind_indexes`), by wrapping those
functions. Printed per page: the number of such operations, their time (median and p95)
and the whole request's time.
"""

from __future__ import annotations

import argparse
import statistics
import time

from page_database import ms, page_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    with page_database(prefix="personal-bench-"):
        run(args.requests)


def run(requests: int) -> None:
    from django.db import connection
    from django.test import Client

    import cvrtracker.lib.fields as fields
    import cvrtracker.lib.sessions as sessions
    from cvrtracker.accounts.models import Membership, UserSession
    from cvrtracker.accounts.services import team_invite
    from cvrtracker.audit.services import AuditContext, audit_record
    from cvrtracker.lib.emails import email_send  # noqa: F401 (the mail backend is locmem)
    from cvrtracker.test import make_user

    owner = make_user("owner.bench@example.org")
    team = owner.membership.team
    for n in range(24):
        make_user(f"member{n}.bench@example.org", team=team, role=Membership.Role.MEMBER)
    for n in range(10):
        team_invite(team=team, email=f"invited{n}.bench@example.org", actor=owner)
    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150"
    for n in range(60):
        context = AuditContext(actor=owner, team=team, ip=f"203.0.113.{n + 2}", user_agent=agent)
        audit_record(action="team.renamed", context=context, detail=f"renamed {n}")
    for n in range(5):
        UserSession.objects.create(
            user=owner,
            session_key=f"benchsession{n:028d}",
            ip=f"198.51.100.{n + 2}",
            user_agent=agent,
        )
    client = Client()
    client.force_login(owner)

    spent: list[float] = []
    calls = [0]

    def timed(function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - started)
                calls[0] += 1

        return wrapper

    originals = {
        (fields, "seal"): fields.seal,
        (fields, "unseal"): fields.unseal,
        (fields, "blind_indexes"): fields.blind_indexes,
        (sessions, "seal"): sessions.seal,
        (sessions, "unseal"): sessions.unseal,
    }
    for (module, name), function in originals.items():
        setattr(module, name, timed(function))

    pages = {
        "Settings → Team (25 members, 10 invitations)": "/accounts/settings/team/",
        "access log (50 entries)": "/accounts/settings/team/access-log/",
        "Settings → Security (5 sessions, events)": "/accounts/settings/security/",
        "Settings → Profile": "/accounts/settings/profile/",
    }
    print(f"database: {connection.vendor}; {requests} requests per page")
    for label, url in pages.items():
        for _ in range(20):  # warm up: imports, template cache, connection
            assert client.get(url).status_code == 200, url
        crypto, whole, counts = [], [], []
        for _ in range(requests):
            spent.clear()
            calls[0] = 0
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            whole.append(time.perf_counter() - started)
            crypto.append(sum(spent))
            counts.append(calls[0])
        print(f"{label}:")
        print(f"  encryption operations per page  {statistics.median(counts):.0f}")
        print(f"  encryption time per page        {ms(crypto)}")
        print(f"  whole request                   {ms(whole)}")


if __name__ == "__main__":
    main()
