"""Personal data at rest, proven (issue 15, point 5).

Every model is filled with canary values (tests/fill.py: names, emails, IP addresses,
user agents, support and rights request text, titles from a real sync), then:

1. every column of every table is read back raw, below the ORM, and must hold no canary
   in the clear, except the columns `PLAINTEXT` lists (the README lists the same, with
   the reason);
2. those columns are blanked and the whole database is dumped as an attacker holding
   a copy would read it (pg_dump, or the SQLite file plus its text dump): no canary, no
   email, IP address or user agent anywhere in it, as text or as the hex of a bytea;
3. what the encryption must not break still works on the same data: log-in by email
   (in another case), a password reset mail for that address, and an invitation found
   and accepted by its address.
"""

import ipaddress
import secrets
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import signing
from django.db import connection as db
from django.test import Client
from django.urls import reverse
from django.utils.http import urlsafe_base64_encode

from cvrtracker.test import PASSWORD
from tests.dump import dump_database
from tests.fill import fill_every_model

pytestmark = pytest.mark.slow

# (table, column): why it stays in plaintext. The README's "Encrypted storage of personal
# data" lists the same columns; the last test holds the two together.
PLAINTEXT: dict[tuple[str, str], str] = {}


def needles(filled: dict) -> dict[str, list[bytes]]:
    """What must not be found, in every form a dump could show it: text (compared in
    lower case) and the hex of a bytea column."""
    values = {"canary": filled["canary"]}
    values.update({f"email {k}": v for k, v in filled["emails"].items()})
    values.update({f"user agent {n}": v for n, v in enumerate(filled["user_agents"])})
    for name, ip in filled["ips"].items():
        address = ipaddress.ip_address(ip)
        values[f"ip {name}"] = str(address)
        if address.version == 6:
            values[f"ip {name} (exploded)"] = address.exploded
    out = {}
    for name, value in values.items():
        raw = value.lower().encode()
        out[name] = [raw, raw.hex().encode(), value.encode().hex().encode()]
    return out


def columns_holding(found: dict[str, list[bytes]]) -> dict[tuple[str, str], set[str]]:
    """Every (table, column) whose raw value contains one of the needles in the clear."""
    hits: dict[tuple[str, str], set[str]] = {}
    with db.cursor() as cursor:
        for table in db.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")  # noqa: S608
            names = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for name, value in zip(names, row, strict=True):
                    if value is None:
                        continue
                    if isinstance(value, memoryview | bytes):
                        data = bytes(value).lower()
                    else:
                        data = str(value).lower().encode()
                    for what, forms in found.items():
                        if forms[0] in data:
                            hits.setdefault((table, name), set()).add(what)
    return hits


@pytest.mark.django_db(transaction=True)
def test_no_personal_value_is_stored_in_the_clear(settings):
    canary = "PDCANARY" + secrets.token_hex(4).upper()
    filled = fill_every_model(canary, settings=settings)
    found = needles(filled)

    # 1. Column by column, below the ORM.
    hits = columns_holding(found)
    unexpected = {place: sorted(what) for place, what in hits.items() if place not in PLAINTEXT}
    assert unexpected == {}, f"personal data in the clear: {unexpected}"

    # 2. The whole dump, once the listed plaintext columns are blanked.
    with db.cursor() as cursor:
        for table, column in PLAINTEXT:
            cursor.execute(
                f"UPDATE {db.ops.quote_name(table)} SET {db.ops.quote_name(column)} = ''"  # noqa: S608
            )
    dump = dump_database().lower()
    assert len(dump) > 100_000, "the dump is suspiciously small"
    in_dump = sorted(what for what, forms in found.items() if any(f in dump for f in forms))
    assert in_dump == [], f"found in the database dump: {in_dump}"
    # The check can fail: the same dump holds what is plaintext on purpose.
    connection = filled["connection"]
    assert connection.selling_partner_id.lower().encode() in dump


@pytest.mark.django_db(transaction=True)
def test_log_in_reset_and_invitations_work_on_encrypted_addresses(settings, mailbox):
    canary = "PDCANARY" + secrets.token_hex(4).upper()
    filled = fill_every_model(canary, settings=settings)
    member_email = filled["emails"]["member"]

    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": member_email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302, response.content[:500]
    assert client.session.get("_auth_user_id") == str(filled["users"][1].pk)

    # Mail goes through the loopback SMTP server (conftest's mailbox), not mail.outbox.
    Client().post(reverse("accounts:password_reset"), {"email": member_email})
    sent = mailbox.to(member_email)
    assert len(sent) == 1
    uid = urlsafe_base64_encode(str(filled["users"][1].pk).encode())
    assert f"/{uid}/" in mailbox.body(sent[0])  # the reset link names the member

    from cvrtracker.accounts.models import Invitation, User
    from cvrtracker.accounts.services import INVITE_SALT

    invited = filled["emails"]["invited"]
    invitation = Invitation.objects.get(email=invited.upper(), accepted_at=None)
    token = signing.dumps(str(invitation.code), salt=INVITE_SALT)
    response = Client().post(
        reverse("accounts:invitation", kwargs={"token": token}),
        {
            "name": "Invited Person",
            "password": "a long and unusual passphrase 7",
            "age_confirmed": "on",
            "privacy_accepted": "on",
        },
    )
    assert response.status_code == 302, response.content[:500]
    joined = User.objects.get(email=invited)
    assert joined.membership.team == filled["team"] and joined.name == "Invited Person"


def test_the_readme_lists_every_plaintext_column():
    readme = (Path(django_settings.BASE_DIR) / "README.md").read_text()
    section = readme.split("## Encrypted storage of personal data", 1)[-1].split("\n## ", 1)[0]
    assert "## Encrypted storage of personal data" in readme
    for table, column in PLAINTEXT:
        assert f"`{table}.{column}`" in section, (table, column)
