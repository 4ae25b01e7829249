"""Data Kiosk history against the real simulator: plan, step, ingest, and every failure path."""

from __future__ import annotations

from datetime import date, timedelta
from unittest import mock

import pytest
from django.utils import timezone

from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import LISTED, DataKioskQuery, SellerConnection
from cvrtracker.amazon.services import connection_sync_marketplaces
from cvrtracker.amazon.sync import datakiosk as dk
from cvrtracker.amazon.tasks import datakiosk_step
from cvrtracker.listings.models import Listing
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.selectors import metrics_account_series, metrics_product_series
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller, counters, drain

US = "ATVPDKIKX0DER"
Status = DataKioskQuery.Status


def all_queries_settled() -> bool:
    rows = DataKioskQuery.objects.all()
    return rows.exists() and not rows.filter(status__in=[Status.DUE, Status.REQUESTED]).exists()


class DataKioskTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, settings, monkeypatch):
        self.sim, self.settings, self.monkeypatch = sync_sim, settings, monkeypatch
        settings.AMAZON_BACKFILL_DAYS = 730
        settings.AMAZON_DATAKIOSK_POLL_SECONDS = 0.2
        settings.AMAZON_DATAKIOSK_MAX_ATTEMPTS = 3
        # Chunks of two ASINs: the seller's five ASINs need three trends queries, which
        # share every block, so each merge must keep the other chunks' ASINs.
        monkeypatch.setattr(dk, "ASINS_PER_FILTER", 2)
        self.sim_client = SimClient(sync_sim)
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        self.seller_id = self.connection.selling_partner_id
        connection_sync_marketplaces(connection=self.connection)
        # Only the Data Kiosk rows run here: no daily sync (and its report plan) comes due.
        SellerConnection.objects.filter(pk=self.connection.pk).update(next_sync_at=None)
        self.connection.refresh_from_db()
        self.products = sync_sim.world.sellers[0].products
        Listing.objects.bulk_create(
            [
                Listing(
                    connection=self.connection,
                    marketplace_id=US,
                    sku=p.sku,
                    asin=p.asin,
                    content_enc=b"",
                )
                for p in self.products
            ],
            ignore_conflicts=True,
        )
        # As the listings run leaves the marketplaces: something listed in the US only.
        self.connection.marketplaces = [
            {**m, LISTED: len(self.products) if m["id"] == US else 0}
            for m in self.connection.marketplaces
        ]
        self.connection.save(update_fields=["marketplaces"])

    def fault(self, operation: str, **fault) -> None:
        self.sim_client.post("/_sim/faults", json_body={"operation": operation, **fault})

    def run_plan(self) -> None:
        assert dk.datakiosk_plan(connection=self.connection) == 4  # by-date + 3 chunks
        drain(self, all_queries_settled, timeout=120)

    def truth(self, sku: str, start: date, end: date) -> dict[date, dict]:
        # As Amazon showed them on the day the queries ran: units and sales of the last
        # 30 days are still being revised (cancellations and returns).
        path = f"/_sim/sellers/{self.seller_id}/listings/{sku}/truth"
        as_of = self.sim.world.today(self.sim.world.sellers[0].home)
        params = {"start": start, "end": end, "asOf": as_of}
        days = self.sim_client.get(path, params=params).json()["days"]
        return {date.fromisoformat(d["date"]): d for d in days}

    def test_it_stores_two_years_of_every_asin_as_the_simulator_knows_them(self):
        self.run_plan()
        assert set(DataKioskQuery.objects.values_list("status", flat=True)) == {"done"}
        today = marketplace_today(US)
        start, end = today - timedelta(days=730), today - timedelta(days=1)
        sim_today = self.sim.world.clock.today()
        compared = 0
        for product in self.products:
            truth = self.truth(product.sku, start, end)
            series = metrics_product_series(
                connection=self.connection, asin=product.asin, start=start, end=end
            )
            assert [d.day for d in series] == [start + timedelta(n) for n in range(730)]
            for day in series:
                t = truth[day.day]
                assert day.units_ordered == t["units"], day
                assert day.total_order_items == t["orderItems"]
                assert day.ordered_product_sales.amount_minor == round(t["sales"] * 100)
                assert day.ordered_product_sales.currency == "USD"
                if day.day < sim_today - timedelta(days=3):
                    assert not day.pending
                    assert day.sessions == t["sessions"], day
                    if t["sessions"]:
                        assert day.buy_box_percentage == t["buyBoxPercentage"]
                    compared += 1
                elif t["units"]:
                    assert day.pending  # sales, traffic not arrived yet: as the report path
        assert compared >= 5 * 725
        account = metrics_account_series(
            connection=self.connection, marketplace_id=US, start=start, end=end
        )
        assert len(account) == 730
        some = account[100]
        assert some.units_ordered == sum(
            self.truth(p.sku, some.day, some.day)[some.day]["units"] for p in self.products
        )
        calls = counters(self.sim, self.seller_id)
        assert calls["createQuery"]["calls"] == 4
        assert calls["getDocument"]["calls"] == 4

    def test_only_the_last_chunk_measures_the_impacts(self):
        # Each chunk derives its ASINs' changes; the impacts (which read every ASIN) are
        # measured once, after the marketplace's last chunk.
        derive, measure = mock.MagicMock(), mock.MagicMock()
        self.monkeypatch.setattr(dk, "derive_listing_changes", derive)
        self.monkeypatch.setattr(dk, "derive_and_measure", measure)
        self.run_plan()
        assert derive.enqueue.call_count == 2
        assert measure.enqueue.call_count == 1
        (connection_id, market, query_id) = measure.enqueue.call_args.args
        assert (connection_id, market) == (self.connection.pk, US)
        # The tasks get the query's id, never its ASINs (a queue holds ids only), and
        # read the ASINs from the row. Whichever chunk lands last measures; together
        # the calls cover each ASIN once.
        ids = [call.args[2] for call in derive.enqueue.call_args_list] + [query_id]
        assert all(type(pk) is int for pk in ids)
        asins = [a for pk in ids for a in DataKioskQuery.objects.get(pk=pk, kind="trends").asins]
        assert sorted(asins) == sorted(p.asin for p in self.products)

    def test_the_plan_is_idempotent_and_new_asins_get_their_own_query(self):
        self.run_plan()
        assert dk.datakiosk_plan(connection=self.connection) == 0
        Listing.objects.create(
            connection=self.connection, marketplace_id=US, sku="NEW-1", asin="B0NEWASIN1",
            content_enc=b"",
        )  # fmt: skip
        assert dk.datakiosk_plan(connection=self.connection) == 1
        new = DataKioskQuery.objects.get(status=Status.DUE)
        assert new.asins == ["B0NEWASIN1"] and new.kind == "trends"

    def test_the_filters_per_query_setting_packs_chunks(self):
        self.settings.AMAZON_DATAKIOSK_FILTERS_PER_QUERY = 3
        assert dk.datakiosk_plan(connection=self.connection) == 2
        trends = DataKioskQuery.objects.get(kind="trends")
        assert len(trends.asins) == 5
        assert dk.query_text(trends).count("marketplaceId:") == 3

    def test_running_a_merge_twice_stores_the_same_blocks(self):
        from cvrtracker.metrics.keys import ConnectionKeys
        from cvrtracker.metrics.services import block_data

        self.run_plan()
        keys = ConnectionKeys(self.connection)

        def snapshot():
            return {
                (b.month, b.shard, b.granularity): (
                    b.rows,
                    block_data(b, keys).ints.tolist(),
                    block_data(b, keys).sales.tolist(),
                    block_data(b, keys).flags.tolist(),
                )
                for b in MetricBlock.objects.all()
            }

        before = snapshot()
        # Every query again, from the start: same answers, same blocks.
        DataKioskQuery.objects.update(status=Status.DUE, next_attempt_at=timezone.now())
        drain(self, all_queries_settled, timeout=120)
        assert snapshot() == before

    def test_a_cut_document_fails_the_query_and_stores_nothing(self):
        self.fault("getDocument", corrupt_document=True)
        dk.datakiosk_plan(connection=self.connection)
        drain(self, lambda: not DataKioskQuery.objects.exclude(status=Status.FAILED).exists())
        row = DataKioskQuery.objects.filter(kind="trends").first()
        assert "not valid JSONL" in row.last_error and row.attempts == 1
        assert row.next_attempt_at > timezone.now()  # asked again after a backoff
        assert not MetricBlock.objects.exists()

    def test_a_fatal_query_records_the_error_document_and_gives_up_after_the_cap(self):
        self.fault("createQuery", report_outcome="FATAL")
        dk.datakiosk_plan(connection=self.connection)
        drain(self, lambda: not DataKioskQuery.objects.exclude(status=Status.FATAL).exists())
        row = DataKioskQuery.objects.filter(kind="trends").first()
        assert row.last_error.startswith("Amazon: FATAL: The query could not be processed")
        # Capped: each retry spends createQuery quota. (No backoff from here on.)
        self.monkeypatch.setattr(dk, "retry_delay", lambda attempts: timedelta(0))
        DataKioskQuery.objects.update(next_attempt_at=timezone.now())
        drain(self, lambda: not DataKioskQuery.objects.exclude(next_attempt_at=None).exists())
        assert set(DataKioskQuery.objects.values_list("attempts", flat=True)) == {3}
        assert not MetricBlock.objects.exists()

    def test_a_429_backs_off_and_keeps_the_query(self):
        dk.datakiosk_plan(connection=self.connection)
        item = DataKioskQuery.objects.get(kind="by_date")
        datakiosk_step.call(item.pk)
        item.refresh_from_db()
        assert item.status == Status.REQUESTED
        self.fault("getQuery", throttle_ratio=1.0)
        assert datakiosk_step.call(item.pk) == "retry"
        item.refresh_from_db()
        assert item.status == Status.REQUESTED and item.query_id  # polled again later
        assert item.attempts == 1 and "429" in item.last_error
        assert item.next_attempt_at > timezone.now()
        assert counters(self.sim, self.seller_id)["getQuery"]["throttled"] >= 1

    def test_a_revoked_grant_stops_the_connection(self):
        dk.datakiosk_plan(connection=self.connection)
        self.sim_client.post(f"/_sim/sellers/{self.seller_id}/revoke")
        item = DataKioskQuery.objects.get(kind="by_date")
        assert datakiosk_step.call(item.pk) == "retry"
        assert SellerConnection.objects.get().status == "revoked"
        # Nothing is claimed for a stopped connection.
        assert datakiosk_step.call(item.pk) == "skipped"

    def test_connection_sync_plans_the_history_after_the_reports(self):
        from cvrtracker.amazon.sync.jobs import connection_sync

        self.settings.AMAZON_BACKFILL_DAYS = 3
        connection_sync(connection=self.connection)
        assert DataKioskQuery.objects.filter(kind="by_date").count() == 1
        assert DataKioskQuery.objects.filter(kind="trends").count() == 3
