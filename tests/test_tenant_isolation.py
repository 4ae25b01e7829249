"""Tenant isolation, proven by a walk that grows with the code (issue 13, point 5).

Every URL pattern that takes an identifier is requested by an outsider (a signed-in
owner of another team) for the owner's object, with every HTTP method: the answer is
404 (or 405 for a method the view never accepts), exactly what the same request for
an identifier that exists nowhere gets, so it cannot even tell that the object exists;
and nothing of the owner's changes. Every API endpoint likewise with the outsider's
API key. A new pattern fails here until OBJECTS says which object of the owner's it
names (or NOT_OWNED says why it names none).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from cvrtracker.accounts.models import Invitation, Membership
from cvrtracker.alerts.tests.helpers import make_alert, make_rule, webhook_channel
from cvrtracker.api.services import api_key_create
from cvrtracker.api.tests.helpers import seller_with_listings
from cvrtracker.billing.models import BillingRecord
from cvrtracker.privacy.export import data_export_build, data_export_request
from cvrtracker.privacy.models import RightsRequest, SupportRequest
from cvrtracker.test import make_user

from .test_url_access import BEARER, named_patterns

METHODS = ("get", "post", "put", "patch", "delete")
MARKET = "ATVPDKIKX0DER"

# Patterns whose arguments name nothing a team owns, and why.
NOT_OWNED = {
    "accounts:invitation": "a signed token from an email (its own tests check forgeries)",
    "accounts:verify_email": "a signed token from an email",
    "accounts:password_reset_confirm": "a signed token from an email",
    "alerts:unsubscribe": "a signed token from an alert email",
    "alerts:channel_confirm": "a signed token from a confirmation email",
    "amazon:connect": "a region name",
    "amazon:simulator_image": "a public image id of the demo simulator",
    "dashboard:products_export": "a file format; the rows are the requester's own team's",
}
# Rows that change on any request of anyone: who looked, and the sessions.
BOOKKEEPING = {
    "audit.AuditEntry",
    "audit.AuditChain",
    "accounts.UserSession",
    "sessions.Session",
    "privacy.UsageEvent",
    "axes.AccessAttempt",
    "axes.AccessLog",
    "axes.AccessFailureLog",
    "django_tasks_database.DBTaskResult",
    "amazon.RateLimitState",
    "api.ApiKey",  # last_used_at of the outsider's own key
}


def owned_patterns():
    return sorted(
        (name, pattern)
        for name, pattern in named_patterns()
        if pattern.pattern.converters and name not in NOT_OWNED
    )


class World:
    """The owner's team with one of everything a URL can name, and an outsider."""

    def __init__(self):
        self.owner = make_user("owner@example.org")
        self.team = self.owner.membership.team
        self.member = make_user("member@example.org", team=self.team, role=Membership.Role.MEMBER)
        self.outsider = make_user("outsider@example.org")
        self.connection, rows, self.listing, self.change = seller_with_listings(
            self.team, self.owner, seller_id="AISOLATE01", store_name="Owner Store"
        )
        self.asin = self.listing.asin
        self.invitation = Invitation.objects.create(
            team=self.team, email="invitee@example.org", invited_by=self.owner
        )
        self.channel = webhook_channel(self.owner, "https://hooks.example/owner")
        self.rule = make_rule(self.team, self.channel, user=self.owner)
        self.alert = make_alert(self.rule, self.connection)
        self.key = api_key_create(team=self.team, name="owner key", actor=self.owner).key
        self.invoice = BillingRecord.objects.create(
            team=self.team,
            team_code=self.team.code,
            stripe_invoice_id="in_isolation",
            number="ISO-1",
            amount=1900,
            currency="usd",
            issued_at=datetime(2026, 11, 1, tzinfo=UTC),
            status="paid",
        )
        self.rights_request = RightsRequest.objects.create(
            kind=RightsRequest.Kind.ACCESS,
            user=self.owner,
            name="Owner",
            email=self.owner.email,
            due_at=datetime(2027, 1, 15, tzinfo=UTC),
        )
        self.support_request = SupportRequest.objects.create(
            user=self.owner, name="Owner", email=self.owner.email, subject="Hi", message="Help"
        )
        self.export = data_export_build(export=data_export_request(user=self.owner))
        self.outsider_token = api_key_create(
            team=self.outsider.membership.team, name="outsider key", actor=self.outsider
        ).token


def product(w: World, **extra) -> dict:
    return {"code": w.connection.code, "marketplace": MARKET, "asin": w.asin, **extra}


# What each pattern names of the owner's. A new pattern needs a line here.
OBJECTS = {
    "accounts:invitation_cancel": lambda w: {"code": w.invitation.code},
    "accounts:member_remove": lambda w: {"code": w.member.membership.code},
    "alerts:alert": lambda w: {"code": w.alert.code},
    "alerts:channel_delete": lambda w: {"code": w.channel.code},
    "alerts:channel_edit": lambda w: {"code": w.channel.code},
    "alerts:channel_resume": lambda w: {"code": w.channel.code},
    "alerts:channel_test": lambda w: {"code": w.channel.code},
    "alerts:rule_delete": lambda w: {"code": w.rule.code},
    "alerts:rule_edit": lambda w: {"code": w.rule.code},
    "alerts:rule_switch": lambda w: {"code": w.rule.code},
    "amazon:disconnect": lambda w: {"code": w.connection.code},
    "amazon:product_tracking": lambda w: {"code": w.listing.code},
    "amazon:products": lambda w: {"code": w.connection.code},
    "api:account_series": lambda w: {"code": w.connection.code},
    "api:changes": lambda w: {"code": w.connection.code},
    "api:product_series": lambda w: {"code": w.connection.code, "asin": w.asin},
    "api:products": lambda w: {"code": w.connection.code},
    "api_keys:revoke": lambda w: {"code": w.key.code},
    "billing:invoice": lambda w: {"code": w.invoice.code},
    "dashboard:account_changes_export": lambda w: {"code": w.connection.code, "fmt": "csv"},
    "dashboard:listing_changes_export": lambda w: {"code": w.listing.code, "fmt": "csv"},
    "dashboard:product": lambda w: product(w),
    "dashboard:product_changes_export": lambda w: product(w, fmt="csv"),
    "dashboard:product_series_export": lambda w: product(w, fmt="csv"),
    "listings:account_changes": lambda w: {"code": w.connection.code},
    "listings:product_changes": lambda w: {"code": w.listing.code},
    "privacy:export_download": lambda w: {"code": w.export.code},
    "privacy:staff_request": lambda w: {"code": w.rights_request.code},
    "privacy:staff_support": lambda w: {"code": w.support_request.code},
}
# Pages for staff only (with a verified second factor): the owner is not staff, so the
# control below cannot use them; privacy/tests/test_staff.py covers who reaches them.
STAFF_PAGES = {"privacy:staff_request", "privacy:staff_support"}


def elsewhere(kwargs: dict) -> dict:
    """The same arguments with every identifier replaced by one that exists nowhere."""
    return {k: uuid.uuid4() if isinstance(v, uuid.UUID) else v for k, v in kwargs.items()}


def fingerprint() -> str:
    """A digest of every row of every table but the bookkeeping ones."""
    digest = hashlib.sha256()
    for model in apps.get_models():
        if model._meta.label in BOOKKEEPING or not model._meta.managed:
            continue
        for row in model.objects.order_by("pk").values_list():
            digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.fixture
def world(db, settings, tmp_path):
    settings.EXPORTS_DIR = tmp_path / "exports"
    return World()


def test_every_pattern_with_an_identifier_is_covered():
    names = {name for name, _ in owned_patterns()}
    missing = sorted(names - OBJECTS.keys())
    assert missing == [], f"add these patterns to OBJECTS (or NOT_OWNED, saying why): {missing}"
    stale = sorted(OBJECTS.keys() - names)
    assert stale == [], f"OBJECTS names patterns that no longer exist: {stale}"


def test_an_outsider_gets_404_for_every_object_of_another_team(world):
    outsider = Client()
    outsider.force_login(world.outsider)
    before = fingerprint()
    tried = 0
    for name, _ in owned_patterns():
        if name in BEARER:
            continue
        kwargs = OBJECTS[name](world)
        url, nowhere = reverse(name, kwargs=kwargs), reverse(name, kwargs=elsewhere(kwargs))
        for method in METHODS:
            answer = getattr(outsider, method)(url)
            control = getattr(outsider, method)(nowhere)
            tried += 1
            status = answer.status_code
            assert status in (404, 405), f"{method.upper()} {name}: {status}"
            assert answer.status_code == control.status_code, f"{method.upper()} {name}"
            assert world.connection.selling_partner_id.encode() not in answer.content
    assert fingerprint() == before, "an outsider's request changed the owner's data"
    assert tried >= 5 * 20


def test_the_owner_reaches_the_same_objects(world):
    """The control: the same URLs do answer the owner, so the 404s above are the
    outsider's, not broken fixtures."""
    owner = Client()
    owner.force_login(world.owner)
    for name, _ in owned_patterns():
        if name in BEARER or name in STAFF_PAGES:
            continue
        answer = owner.get(reverse(name, kwargs=OBJECTS[name](world)))
        assert answer.status_code in (200, 302, 405), f"GET {name}: {answer.status_code}"


def test_an_outsiders_api_key_gets_404_for_another_teams_connection(world):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {world.outsider_token}")
    before = fingerprint()
    for name in sorted(BEARER & OBJECTS.keys()):
        kwargs = OBJECTS[name](world)
        for method in METHODS:
            answer = getattr(api, method)(reverse(name, kwargs=kwargs))
            control = getattr(api, method)(reverse(name, kwargs=elsewhere(kwargs)))
            status = answer.status_code
            assert status in (404, 405), f"{method.upper()} {name}: {status}"
            assert answer.status_code == control.status_code, f"{method.upper()} {name}"
            assert answer["Content-Type"].startswith("application/")
    assert fingerprint() == before


def test_the_owners_api_key_reaches_its_own_connection(world):
    """The control for the API walk."""
    token = api_key_create(team=world.team, name="owner reads", actor=world.owner).token
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    for name in sorted(BEARER & OBJECTS.keys()):
        answer = api.get(reverse(name, kwargs=OBJECTS[name](world)))
        assert answer.status_code == 200, f"GET {name}: {answer.status_code}"
