import pytest

from cvrtracker.amazon.client import AmazonError, RevokedAuthorization
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import (
    REVOKED_WORDS,
    TRANSIENT_WORDS,
    connection_sync_marketplaces,
)
from cvrtracker.amazon.tasks import enqueue_sync_marketplaces, sync_marketplaces
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller, counters

IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


class SyncMarketplacesTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sim, settings):
        self.sim = sim
        self.settings = settings
        self.connection = connect_seller(sim, team=self.team, user=self.alice)
        self.seller_id = self.connection.selling_partner_id

    def test_it_stores_the_marketplaces_and_the_encrypted_store_name(self):
        marketplaces = connection_sync_marketplaces(connection=self.connection)
        # The seller sells in the US, Canada and Mexico; Amazon also lists Brazil (never
        # opened) and "Non-Amazon" as participating (docs#254).
        ids = [m["id"] for m in marketplaces]
        assert ids == ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC",
                       "A2ZV50J4W1RKNI"]  # fmt: skip
        assert marketplaces[:1] == [
            {
                "id": "ATVPDKIKX0DER",
                "name": "Amazon.com",
                "countryCode": "US",
                "defaultCurrencyCode": "USD",
                "domainName": "www.amazon.com",
                "isParticipating": True,
                "hasSuspendedListings": False,
            }
        ]
        row = SellerConnection.objects.get()
        assert row.marketplaces == marketplaces and row.marketplaces_synced_at
        assert row.store_name == self.sim.world.sellers[0].store_name
        assert row.store_name.encode() not in bytes(row.store_name_enc)

    def test_the_task_loads_the_row_and_syncs_after_commit(self):
        self.settings.TASKS = IMMEDIATE
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            enqueue_sync_marketplaces(self.connection)
            assert not SellerConnection.objects.get().marketplaces  # not before commit
        assert len(callbacks) == 1
        assert SellerConnection.objects.get().marketplaces[0]["id"] == "ATVPDKIKX0DER"

    def test_a_passing_failure_is_told_and_rescheduled(self):
        SimClient(self.sim).post(
            "/_sim/faults",
            json_body={"operation": "getMarketplaceParticipations", "error_ratio": 1},
        )
        self.settings.TASKS = IMMEDIATE
        assert sync_marketplaces.call(self.connection.pk) is False
        row = SellerConnection.objects.get()
        assert row.status == "active" and row.last_error == TRANSIENT_WORDS
        assert row.next_sync_at > row.last_error_at

    def test_a_revoked_grant_stops_the_connection_with_zero_further_calls(self):
        connection_sync_marketplaces(connection=self.connection)
        SimClient(self.sim).post(f"/_sim/sellers/{self.seller_id}/revoke")
        # The access token died with the grant: 403, then the refresh says invalid_grant.
        with pytest.raises(RevokedAuthorization):
            connection_sync_marketplaces(connection=self.connection)
        row = SellerConnection.objects.get()
        assert row.status == "revoked" and row.last_error == REVOKED_WORDS
        assert row.refresh_token_enc is None and row.next_sync_at is None
        # Issue 12: as a disconnect, from when it was first seen: key gone, purge due.
        assert row.wrapped_data_key is None and row.stopped_at is not None
        after_revocation = counters(self.sim, self.seller_id)
        assert sync_marketplaces.call(row.pk) is False
        with pytest.raises(AmazonError):
            connection_sync_marketplaces(connection=row)
        assert counters(self.sim, self.seller_id) == after_revocation
        self.client.force_login(self.alice)
        page = self.client.get("/amazon/")
        self.assertContains(page, "Access revoked or expired at Amazon, seen on")
        self.assertContains(page, "data being deleted")
        self.assertContains(page, "Reconnect</a>")
        self.assertContains(page, "Reconnect</a>")
