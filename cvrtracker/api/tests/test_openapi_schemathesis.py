"""schemathesis against /api/v1/openapi.json: every generated request, valid or not,
answers without a 5xx and as the document says (status, content type, headers,
body schema).

The requests go to the WSGI application in-process, with a live key of a team
whose seller account holds real metrics (the simulator's reports), listings with
titles, and changes with and without an impact, so the answers are not empty
lists. The clock stands on the day after the metrics, so default ranges cover them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
import time_machine
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings

from cvrtracker.api.services import api_key_create
from cvrtracker.impact.services import impact_store
from cvrtracker.impact.types import NOT_ENOUGH_DATA, WORSENED, Impact, ImpactWindow
from cvrtracker.listings.tests.history_helpers import Field, Source, store
from cvrtracker.test import make_user

from .helpers import seller_with_listings

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def seller(db):
    """A key and a seller account with metrics, titled listings and changes."""
    owner = make_user("owner@example.org")
    team = owner.membership.team
    connection, rows, first, price = seller_with_listings(
        team, owner, seller_id="A1SCHEMA", store_name="Schema"
    )
    day = price.day
    bullet = store(
        connection, listing=first, field=Field.BULLET, position=2, day=day, before="a", after="b"
    )
    store(connection, asin=first.asin, field=Field.STOCK_OUT, source=Source.DERIVED, day=day)
    impact_store(
        change=price,
        impact=Impact(
            verdict=WORSENED,
            lift=-0.2,
            lift_low=-0.35,
            lift_high=-0.05,
            before=ImpactWindow(day - timedelta(15), day - timedelta(2), 14, 1400, 140),
            after=ImpactWindow(day + timedelta(2), day + timedelta(15), 13, 1300, 104),
            trend_adjusted=True,
            shortened=False,
            final=True,
            as_of=day + timedelta(15),
            ready_on=None,
            units_per_month=-24.0,
            note="Compared with the rest of the account.",
        ),
    )
    impact_store(
        change=bullet,
        impact=Impact(
            verdict=NOT_ENOUGH_DATA,
            lift=None,
            lift_low=None,
            lift_high=None,
            before=None,
            after=None,
            trend_adjusted=False,
            shortened=True,
            final=False,
            as_of=day,
            ready_on=day + timedelta(20),
            units_per_month=None,
            note="Too few sessions yet.",
        ),
    )
    token = api_key_create(team=team, name="schemathesis", actor=owner).token
    return connection, rows[0].asin, token


@pytest.fixture(autouse=True)
def _no_rate_limit_and_a_fixed_clock():
    # The key's limit (60 a minute) would turn most examples into 429s. The WSGI
    # handler closes "old" database connections around each request, which on
    # PostgreSQL would close the test's transaction and its data: as Django's test
    # client does, those signal handlers are off while the requests run in-process.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with (
            override_settings(API_RATE_LIMIT_PER_MINUTE=1_000_000),
            time_machine.travel(NOW, tick=False),
        ):
            yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_as_its_document_says(case, seller):
    connection, asin, token = seller
    # Most examples ask for the seeded account and product; schemathesis's own codes
    # and ASINs (unknown ones, 404 or empty) still come through its negative cases.
    if (
        "code" in (case.path_parameters or {})
        and case.meta
        and case.meta.generation.mode.is_positive
    ):
        case.path_parameters["code"] = str(connection.code)
        if "asin" in case.path_parameters:
            case.path_parameters["asin"] = asin
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        # Whether a well-formed query is accepted depends on data no static document
        # holds (a marketplace of this account, start on or before end, a cursor we
        # signed): those answer the documented 400, so this one check is left out.
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
