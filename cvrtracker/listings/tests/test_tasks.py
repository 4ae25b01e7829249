"""The listings task reads the ASINs of a Data Kiosk chunk from its row: the queue
holds the row's id, never the ASINs (issue 15)."""

from __future__ import annotations

from datetime import date
from unittest import mock

import pytest

from cvrtracker.accounts.models import Team
from cvrtracker.amazon.models import DataKioskQuery
from cvrtracker.listings import tasks
from cvrtracker.listings.inference import DeriveResult
from cvrtracker.metrics.tests.helpers import make_connection

pytestmark = pytest.mark.django_db
US = "ATVPDKIKX0DER"


def query(connection, asins: list[str]) -> DataKioskQuery:
    return DataKioskQuery.objects.create(
        connection=connection,
        marketplace_id=US,
        kind=DataKioskQuery.Kind.TRENDS,
        asins=asins,
        chunk_key=",".join(asins),
        start_day=date(2026, 1, 1),
        end_day=date(2026, 1, 31),
    )


@pytest.fixture
def derive(monkeypatch):
    derive = mock.MagicMock(return_value=DeriveResult())
    monkeypatch.setattr(tasks, "listing_changes_derive", derive)
    return derive


def test_the_task_derives_the_asins_of_the_query_it_is_given(derive):
    connection = make_connection(Team.objects.create(name="t"))
    chunk = query(connection, ["B0AAAAAAA1", "B0AAAAAAA2"])
    tasks.derive_listing_changes.call(connection.pk, US, chunk.pk)
    assert derive.call_args.kwargs["asins"] == ["B0AAAAAAA1", "B0AAAAAAA2"]


def test_without_a_query_or_with_another_accounts_it_derives_every_asin(derive):
    connection = make_connection(Team.objects.create(name="t"))
    other = make_connection(Team.objects.create(name="o"), seller_id="A2OTHER")
    foreign = query(other, ["B0OTHERAS1"])
    tasks.derive_listing_changes.call(connection.pk, US)
    tasks.derive_listing_changes.call(connection.pk, US, foreign.pk)
    assert [c.kwargs["asins"] for c in derive.call_args_list] == [None, None]
