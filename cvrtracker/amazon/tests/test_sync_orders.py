"""orders_sync against the simulator, which refuses a token without its original
parameters, after 24 hours, or a window ending less than two minutes ago (models#5144)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cvrtracker.amazon import client
from cvrtracker.amazon.models import SyncJob
from cvrtracker.amazon.services import connection_sync_marketplaces
from cvrtracker.amazon.sync.orders import orders_sync, orders_window
from cvrtracker.amazon.sync.schedule import JobPaused
from cvrtracker.metrics.models import Order
from cvrtracker.metrics.orders import order_data
from cvrtracker.simulator.testing import SimClient, running_simulator
from cvrtracker.test import BaseTestCase

from .conftest import point_settings_at
from .helpers import connect_seller, counters

PATH = "/orders/2026-01-01/orders"


class OrdersSyncTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, settings):
        # 20 products sell well over 100 orders in the first three days' window.
        with running_simulator(
            asins=20, quota="relaxed", today=timezone.now().date(), marketplaces=1
        ) as sim:
            point_settings_at(settings, sim)
            settings.AMAZON_RATELIMIT_STORAGE = "memory"
            settings.AMAZON_JOB_QUOTA_WAIT_SECONDS = 5
            self.sim, self.settings = sim, settings
            yield
        client._http.cache_clear()

    def start(self) -> None:
        # Here, not in the fixture: rows written there outlive the test's transaction.
        self.connection = connect_seller(self.sim, team=self.team, user=self.alice)
        connection_sync_marketplaces(connection=self.connection)
        self.job = SyncJob.objects.create(connection=self.connection, kind="orders")

    def sync(self) -> int:
        if not hasattr(self, "job"):
            self.start()
        self.job.refresh_from_db()
        return orders_sync(job=self.job)

    def calls(self) -> dict:
        return counters(self.sim, self.connection.selling_partner_id).get("searchOrders", {})

    def truth(self, params: dict) -> set[str]:
        """Every order id the simulator has for the window, paged independently."""
        sim_client = SimClient(self.sim)
        token = sim_client.access_token(self.connection.selling_partner_id)
        found, page = set(), None
        while True:
            query = dict(params) | ({"paginationToken": page} if page else {})
            body = sim_client.get(PATH, token=token, params=query).json()
            found |= {order["orderId"] for order in body["orders"]}
            page = body.get("pagination", {}).get("nextToken")
            if not page:
                return found

    def stored_ids(self) -> set[str]:
        return {
            order_data(connection=self.connection, order=o)["order_id"] for o in Order.objects.all()
        }

    def test_a_window_of_more_than_100_orders_is_stored_over_several_pages(self):
        self.settings.AMAZON_JOB_PAGES_PER_RUN = 1
        with pytest.raises(JobPaused):
            self.sync()  # one page, then the job gives its worker back
        self.job.refresh_from_db()
        start = self.job.cursor["params"]["lastUpdatedAfter"]
        self.settings.AMAZON_JOB_PAGES_PER_RUN = 50
        written = 100 + self.sync()
        calls = self.calls()
        self.job.refresh_from_db()
        window = {"lastUpdatedAfter": start, "lastUpdatedBefore": self.job.cursor["after"]}
        expected = self.truth(window)
        assert written == len(expected) > 100
        assert self.stored_ids() == expected
        # Every next page resent the parameters: the simulator refuses a lone token.
        assert calls["calls"] == calls["http_200"] == -(-len(expected) // 100)
        assert set(self.job.cursor) == {"after"}

    def test_a_stale_token_restarts_the_window_from_the_watermark(self):
        self.settings.AMAZON_JOB_PAGES_PER_RUN = 1
        with pytest.raises(JobPaused):
            self.sync()
        self.job.refresh_from_db()
        paused = dict(self.job.cursor)
        assert paused["page"] and paused["params"]["lastUpdatedAfter"]
        # The job comes back after Amazon's 24 hours: its token is dead.
        SimClient(self.sim).post("/_sim/clock", json_body={"hours": 25})
        self.settings.AMAZON_JOB_PAGES_PER_RUN = 50
        self.sync()
        self.job.refresh_from_db()
        assert self.calls()["http_400"] == 1
        # Finished, with the restarted window's end as the new watermark.
        assert set(self.job.cursor) == {"after"}
        assert self.job.cursor["after"] > paused["after"]
        window = {
            "lastUpdatedAfter": paused["params"]["lastUpdatedAfter"],
            "lastUpdatedBefore": self.job.cursor["after"],
        }
        assert self.stored_ids() == self.truth(window)

    def test_a_cursor_holding_a_token_without_its_parameters_starts_the_window_again(self):
        self.start()
        # What a run paused by the previous version left behind.
        after = (timezone.now() - timezone.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        SyncJob.objects.filter(pk=self.job.pk).update(cursor={"after": after, "page": "old"})
        assert self.sync() > 0
        self.job.refresh_from_db()
        assert set(self.job.cursor) == {"after"}
        assert self.calls().get("http_400", 0) == 0

    def test_the_next_window_overlaps_the_last_one_by_a_few_minutes(self):
        window = orders_window("2026-11-29T10:00:00Z", ["ATVPDKIKX0DER"])
        assert window["after"] == "2026-11-29T10:00:00Z"
        assert window["params"]["lastUpdatedAfter"] == "2026-11-29T09:55:00Z"
        assert self.settings.AMAZON_ORDERS_OVERLAP_SECONDS == 300
