"""Two workers ingesting days of the same month at once: the row lock keeps both days."""

from __future__ import annotations

import threading

import pytest
from django.db import connection as db
from django.db import connections
from django.test import TransactionTestCase

from cvrtracker.accounts.models import Team
from cvrtracker.metrics.selectors import metrics_days_fetched
from cvrtracker.metrics.services import metrics_ingest_day

from .helpers import MARKET, SIM_DAYS, make_connection, sim_payloads


@pytest.mark.skipif(db.vendor != "postgresql", reason="needs concurrent connections")
class ConcurrentIngestTestCase(TransactionTestCase):
    def test_concurrent_writers_of_one_block_lose_no_day(self):
        connection = make_connection(Team.objects.create(name="t"))
        barrier = threading.Barrier(len(SIM_DAYS))
        errors: list[BaseException] = []

        def ingest(day):
            try:
                barrier.wait()
                metrics_ingest_day(
                    connection=connection,
                    marketplace_id=MARKET,
                    day=day,
                    report=sim_payloads()["days"][day],
                )
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=ingest, args=(d,)) for d in SIM_DAYS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        fetched = metrics_days_fetched(
            connection=connection, marketplace_id=MARKET, start=SIM_DAYS[0], end=SIM_DAYS[-1]
        )
        assert sorted(fetched) == SIM_DAYS
