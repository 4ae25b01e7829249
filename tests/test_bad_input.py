"""Bad input never answers 5xx: every form field and query parameter of every page, and
every API parameter, takes generated values (dates at the edges of the calendar, NUL
and control characters, huge numbers and strings, odd Unicode) and the site answers
with a 4xx or an ordinary page.

Nothing here is a hand list of fields that could go stale. The targets are found by
walking the site as a signed-in owner whose seller account holds real data:
- every URL pattern that takes no argument is a starting page; each page's links
  (href, hx-get) lead to more, so the product and change pages are reached too;
- each page's forms give a target (method, action, fields with the values the page
  filled in), and the query strings of its links give the parameters it reads;
- the query parameters a view reads straight from `request.GET` come from its
  module's source;
- the API's parameters come from its OpenAPI document (built from its forms).
A URL pattern the walk does not reach fails the test unless it is listed, with why,
in UNREACHED.

Each target then gets a handful of hypothesis examples: every field either keeps its
page's value or takes a generated one, so validation of one field does not hide the
next. Every request runs in a savepoint that is rolled back, so a generated "delete"
or "log out" does not change what the next one sees.
"""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import transaction
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import Resolver404, include, path, resolve, reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cvrtracker.api.services import api_key_create
from cvrtracker.api.tests.helpers import seller_with_listings
from cvrtracker.test import make_user

from .test_no_store import CACHEABLE
from .test_url_access import BEARER, named_patterns

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
START, END = date(2026, 10, 25), date(2026, 11, 30)
# A few per target keeps `make test` fast; BAD_INPUT_EXAMPLES=100 for a deeper run.
EXAMPLES_PER_TARGET = int(os.environ.get("BAD_INPUT_EXAMPLES", "4"))
MAX_PAGES = 150
# Patterns the walk does not reach from a signed-in owner's pages, and why.
UNREACHED = {
    "accounts:verify_email": "a signed token from an email; its form-less page reads no field",
    "accounts:password_reset_confirm": "a signed token from an email",
    "accounts:invitation": "a signed token from an email",
    "alerts:unsubscribe": "a signed token from an alert email",
    "alerts:channel_confirm": "a signed token from a confirmation email",
    "billing:invoice": "needs a paid Stripe invoice",
    "amazon:simulator_image": "an image relay; its only argument is in the path",
    "alerts:alert": "needs an alert, which needs a rule to fire",
    "alerts:rule_edit": "needs a rule; the new-rule form has the same fields",
    "alerts:rule_switch": "needs a rule",
    "alerts:rule_delete": "needs a rule",
    "alerts:channel_edit": "needs a channel; the new-channel form has the same fields",
    "alerts:channel_test": "needs a channel",
    "alerts:channel_resume": "needs a channel",
    "alerts:channel_delete": "needs a channel",
    "accounts:invitation_cancel": "needs a pending invitation",
    "privacy:staff_request": "staff only (a 404 for the owner); privacy/tests/test_staff.py",
    "privacy:staff_support": "staff only (a 404 for the owner); privacy/tests/test_staff.py",
    "privacy:export_download": "needs a finished data export, built by the worker",
}

EDGE_DATES = [
    "0001-01-01",
    "9999-12-31",
    "0000-00-00",
    "10000-01-01",
    "2024-02-29",
    "2026-02-29",
    "2026-13-01",
    "2026-11-31",
    "1969-12-31",
    "-0001-01-01",
]
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m\x1f\x7f",
    "\r\nSet-Cookie: forged=1",
    "\u202e\u200b\ufeff\u2028",
    "🙂" * 64,
    "e\u0301" * 200,
    "\U0010ffff\ufffe",
    "x" * 100_000,
    "9" * 400,
    "-" + "9" * 400,
    "1e309",
    "NaN",
    "-inf",
    "-0",
    "0x7fffffffffffffff",
    "18446744073709551616",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "../../../etc/passwd",
    "%00",
    "[]",
]
# Sent to every field of every target, whatever hypothesis draws besides.
MUST_TRY = [
    "a\x00b",
    "\x01\x1b[31m\x7f\r\nforged: line",
    "9" * 400,
    "0001-01-01",
    "9999-12-31",
    "\u202e🙂e\u0301" + "x" * 5_000,
]
ODD_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
GENERATED = st.one_of(
    st.sampled_from(EDGE_DATES + NASTY),
    st.dates().map(date.isoformat),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats().map(repr),
    ODD_TEXT,
)


@dataclass(frozen=True)
class Target:
    method: str  # "get" or "post"
    path: str
    fields: tuple[tuple[str, str], ...]  # name and the value the page gave it
    visitor: str = "owner"  # who sends it: "owner" (signed in), "anonymous", or "key" (API)

    def __str__(self) -> str:
        names = [name for name, _ in self.fields]
        return f"{self.method.upper()} {self.path} {names} as {self.visitor}"


@dataclass
class Page(HTMLParser):
    url: str
    links: list[str] = field(default_factory=list)
    forms: list[Target] = field(default_factory=list)
    _form: dict | None = None

    def __post_init__(self):
        super().__init__()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for attr in ("href", "hx-get", "hx-post", "action"):
            if a.get(attr) and tag != "form":
                self.links.append(urljoin(self.url, a[attr]))
        if tag == "form":
            action = urljoin(self.url, a.get("action") or self.url)
            self._form = {"method": (a.get("method") or "get").lower(), "action": action, "f": []}
        elif (
            self._form is not None
            and tag in ("input", "select", "textarea", "button")
            and a.get("name") not in (None, "", "csrfmiddlewaretoken")
        ):
            self._form["f"].append((a["name"], a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            form, self._form = self._form, None
            parts = urlsplit(form["action"])
            fields = dict(form["f"])
            if form["method"] == "get":
                fields = {**dict(parse_qsl(parts.query)), **fields}
            if fields or form["method"] == "post":
                self.forms.append(Target(form["method"], parts.path, tuple(sorted(fields.items()))))


def read_names(module) -> set[str]:
    """Query parameter names a view module reads straight from request.GET."""
    source = inspect.getsource(module)
    return set(re.findall(r"request\.GET(?:\.get|\.getlist)?[\(\[]\s*[\"'](\w+)[\"']", source))


def walk(client: Client, visitor: str) -> tuple[list[Target], set[str], int]:
    """(targets, URL pattern names reached, pages read) from the pages `client` sees."""
    queue = [
        reverse(name)
        for name, pattern in named_patterns()
        if not pattern.pattern.converters and name not in BEARER
    ]
    seen: set[str] = set()
    params: dict[str, dict[str, str]] = {}
    targets: set[Target] = set()
    reached: set[str] = set()
    pages = 0
    while queue and pages < MAX_PAGES:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc or not parts.path.startswith("/") or parts.path.startswith("/static/"):
            continue
        try:
            match = resolve(parts.path)
        except Resolver404:
            continue
        params.setdefault(parts.path, {}).update(parse_qsl(parts.query))
        if parts.path in seen or match.url_name == "logout":
            continue
        seen.add(parts.path)
        reached.add(f"{match.namespace}:{match.url_name}")
        response = client.get(url)
        pages += 1
        assert response.status_code < 500, url
        if visitor == "owner" and match.view_name not in CACHEABLE:
            assert "no-store" in response.get("Cache-Control", ""), url
        for name in read_names(inspect.getmodule(match.func)):
            params[parts.path].setdefault(name, "")
        if response.get("Content-Type", "").startswith("text/html"):
            page = Page(url=url)
            page.feed(response.content.decode())
            targets.update(replace(form, visitor=visitor) for form in page.forms)
            queue.extend(page.links)
    for page_path, names in params.items():
        if page_path in seen:
            targets.add(Target("get", page_path, tuple(sorted(names.items())), visitor))
    return sorted(targets, key=str), reached, pages


def names_of(targets: list[Target]) -> set[str]:
    names = set()
    for target in targets:
        try:
            match = resolve(target.path)
        except Resolver404:
            continue
        names.add(f"{match.namespace}:{match.url_name}")
    return names


def api_targets(client: Client, code: str, asin: str) -> list[Target]:
    document = client.get("/api/v1/openapi.json").json()
    prefix = urlsplit(document["servers"][0]["url"]).path.rstrip("/")
    targets = []
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            url = prefix + template.replace("{code}", code).replace("{asin}", asin)
            targets.append(Target(method, url, tuple((n, "") for n in names), "key"))
    return targets


@pytest.fixture
def seller(db):
    owner = make_user("owner@example.org")
    team = owner.membership.team
    make_user("member@example.org", team=team, role=owner.membership.Role.MEMBER)
    connection, rows, _, _ = seller_with_listings(
        team, owner, seller_id="A1BADINPUT", store_name="Bad"
    )
    token = api_key_create(team=team, name="bad input", actor=owner).token
    return owner, connection, rows[0].asin, token


def test_no_generated_value_answers_5xx(seller, client):
    owner, connection, asin, token = seller
    tried: list[int] = []
    with (
        override_settings(API_RATE_LIMIT_PER_MINUTE=1_000_000, AXES_FAILURE_LIMIT=1_000_000),
        time_machine.travel(NOW, tick=False),
    ):
        client.force_login(owner)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        targets, reached, pages = walk(client, "owner")
        # Signed-in owners are sent away from log-in, sign-up and reset: a visitor's walk.
        public, public_reached, public_pages = walk(Client(), "anonymous")
        targets += public + api_targets(client, str(connection.code), asin)
        reached |= public_reached
        pages += public_pages
        reached |= names_of(targets)
        patterns = {name for name, _ in named_patterns()}
        assert sorted(patterns - reached - set(UNREACHED)) == [], "pages the walk cannot reach"
        assert sorted(set(UNREACHED) & reached) == [], "listed as unreached, but reached"
        for target in targets:
            probe(client, target, cookie=cookie, token=token, tried=tried)
    fields = sum(len(t.fields) for t in targets)
    print(
        f"\nbad input: {len(targets)} targets ({fields} fields) from {pages} pages, "
        f"{len(reached)} of {len(patterns)} URL patterns; {len(tried)} requests, "
        f"{sum(1 for status in tried if status >= 500)} answered 5xx"
    )
    assert len(targets) > 30 and len(tried) >= fields * 2


def probe(client: Client, target: Target, *, cookie: str, token: str, tried: list[int]):
    values = st.fixed_dictionaries(
        {
            name: st.one_of(st.just(default), GENERATED, st.lists(GENERATED, max_size=3))
            for name, default in target.fields
        }
    )

    @settings(
        max_examples=EXAMPLES_PER_TARGET,
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=values)
    def send(data):
        client.cookies.clear()
        if target.visitor == "owner":
            client.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
        headers = {"authorization": f"Bearer {token}"} if target.visitor == "key" else {}
        with transaction.atomic():
            response = getattr(client, target.method)(target.path, data, headers=headers)
            transaction.set_rollback(True)
        tried.append(response.status_code)
        assert response.status_code < 500, f"{target} with {data!r}"

    if target.fields:
        for value in MUST_TRY:
            send = example(data={name: value for name, _ in target.fields})(send)
    send()


def planted(request):
    # The control's bug: a year straight from the query, unchecked.
    return HttpResponse(date(int(request.GET.get("year", "2026")), 1, 1).isoformat())


urlpatterns = [path("planted/", planted), path("", include("cvrtracker.urls"))]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_the_probe_finds_a_planted_500(client):
    # The control: a view that fails on a year out of range is found, and its parameter
    # is found in its source as the walk finds every view's.
    assert read_names(inspect.getmodule(planted)) >= {"year"}
    target = Target("get", "/planted/", (("year", "2026"),))
    with pytest.raises(ValueError):
        probe(client, target, cookie="", token="", tried=[])
