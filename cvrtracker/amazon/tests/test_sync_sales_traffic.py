from datetime import timedelta

import pytest
from django.utils import timezone

from cvrtracker.amazon.models import SalesTrafficDay, SellerConnection
from cvrtracker.amazon.sync.sales_traffic import sales_traffic_plan
from cvrtracker.metrics.models import MetricBlock
from cvrtracker.metrics.selectors import metrics_account_series
from cvrtracker.test import BaseTestCase

from .helpers import (
    all_jobs_succeeded,
    all_reports_finished,
    connect_seller,
    counters,
    drain,
    sales_traffic_reports,
)


class SalesTrafficTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sync_sim, settings):
        self.sim, self.settings = sync_sim, settings
        self.connection = connect_seller(sync_sim, team=self.team, user=self.alice)
        self.seller_id = self.connection.selling_partner_id

    def sync_everything(self):
        drain(self, lambda: all_reports_finished() and all_jobs_succeeded())

    def test_it_backfills_every_day_and_the_account_series(self):
        self.sync_everything()
        today = timezone.now().date()
        days = SalesTrafficDay.objects.filter(kind="day").order_by("-day")
        assert [d.day for d in days] == [today - timedelta(days=n) for n in range(1, 6)]
        assert {d.status for d in days} == {"done"}
        # The last three reported days have sales but no sessions yet.
        assert [d.is_pending for d in days] == [True, True, True, False, False]
        series = SalesTrafficDay.objects.get(kind="series")
        assert series.status == "done" and series.end_day == today - timedelta(days=1)
        account = metrics_account_series(
            connection=self.connection,
            marketplace_id="ATVPDKIKX0DER",
            start=today - timedelta(days=5),
            end=today,
        )
        assert len(account) == 5
        backfill = self.connection.backfill()
        assert (backfill["done"], backfill["total"], backfill["percent"]) == (5, 5, 100)
        row = SellerConnection.objects.get()
        assert row.sales_traffic_synced_at and row.listings_synced_at
        assert row.inventory_synced_at and row.orders_synced_at
        calls = counters(self.sim, self.seller_id)
        # 5 days + the series, nothing twice; the listings run asked for its merchant report.
        assert sales_traffic_reports(self.sim, self.seller_id) == 6
        assert calls["createReport"]["calls"] == 7

    def test_the_plan_is_idempotent_and_marks_the_trailing_window_again(self):
        self.sync_everything()
        self.connection.refresh_from_db()
        assert sales_traffic_plan(connection=self.connection) == 0
        assert not SalesTrafficDay.objects.exclude(status="done").exists()
        # A day later, every day of the window is due again (Amazon restates).
        SalesTrafficDay.objects.update(fetched_at=timezone.now() - timedelta(days=1))
        sales_traffic_plan(connection=self.connection)
        assert SalesTrafficDay.objects.filter(kind="day", status="due").count() == 5
        assert SalesTrafficDay.objects.get(kind="series").status == "done"
        blocks = MetricBlock.objects.count()
        drain(self, all_reports_finished)
        assert MetricBlock.objects.count() == blocks
