"""Connect, disconnect and a revocation the sync notices are in the audit trail."""

import pytest

from cvrtracker.amazon.client import RevokedAuthorization
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import connection_sync_marketplaces
from cvrtracker.audit.models import AuditEntry
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller

Action = AuditEntry.Action
IP = "203.0.113.77"


class AmazonEventTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sim):
        self.sim = sim
        self.connection = connect_seller(sim, team=self.team, user=self.alice)

    def test_connecting_is_recorded(self):
        # The fixture connects outside each test's transaction: entries may be from
        # an earlier test of this class, so the newest one is this test's.
        entry = AuditEntry.objects.filter(action=Action.AMAZON_CONNECTED).latest("seq")
        self.assertEqual(
            (entry.actor, entry.team, entry.target_code),
            (self.alice, self.team, str(self.connection.code)),
        )

    def test_disconnecting_is_recorded_with_the_owners_address(self):
        self.client.force_login(self.alice)
        self.client.post(f"/amazon/{self.connection.code}/disconnect/", REMOTE_ADDR=IP)
        entry = AuditEntry.objects.get(action=Action.AMAZON_DISCONNECTED)
        self.assertEqual(
            (entry.actor, entry.team, entry.ip, entry.target_code),
            (self.alice, self.team, IP, str(self.connection.code)),
        )

    def test_a_revocation_noticed_by_the_sync_is_recorded_once_with_no_actor(self):
        seller_id = self.connection.selling_partner_id
        SimClient(self.sim).post(f"/_sim/sellers/{seller_id}/revoke")
        with pytest.raises(RevokedAuthorization):
            connection_sync_marketplaces(connection=self.connection)
        row = SellerConnection.objects.get()
        self.assertEqual(row.status, "revoked")
        entry = AuditEntry.objects.get(action=Action.AMAZON_REVOKED)
        self.assertEqual(
            (entry.actor, entry.team, entry.ip, entry.target_code),
            (None, self.team, None, str(self.connection.code)),
        )
