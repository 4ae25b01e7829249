import pytest

from cvrtracker.amazon.client import AmazonError
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import connection_client, connection_sync_marketplaces
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller, counters


class DisconnectTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sim):
        self.sim = sim
        self.connection = connect_seller(sim, team=self.team, user=self.alice)
        self.url = f"/amazon/{self.connection.code}/disconnect/"

    def test_it_deletes_the_tokens_and_stops_every_call(self):
        connection_sync_marketplaces(connection=self.connection)
        before = counters(self.sim, self.connection.selling_partner_id)
        self.client.force_login(self.alice)
        self.assertRedirects(self.client.post(self.url), "/amazon/")
        self.connection.refresh_from_db()
        assert self.connection.status == "disconnected"
        assert self.connection.refresh_token_enc is None
        assert self.connection.access_token_enc is None
        assert self.connection.next_sync_at is None
        with pytest.raises(AmazonError) as caught:
            connection_sync_marketplaces(connection=self.connection)
        assert caught.value.permanent
        with pytest.raises(AmazonError):
            connection_client(connection=self.connection)
        assert counters(self.sim, self.connection.selling_partner_id) == before

    def test_a_worker_holding_the_old_row_makes_no_call(self):
        stale = SellerConnection.objects.get(pk=self.connection.pk)
        connection_sync_marketplaces(connection=stale)  # now holds a live access token
        before = counters(self.sim, self.connection.selling_partner_id)
        self.client.force_login(self.alice)
        self.client.post(self.url)
        # The stale copy still says "active" and holds a token valid for an hour,
        # yet its next call stops before reaching Amazon.
        assert stale.is_active
        with pytest.raises(AmazonError):
            connection_sync_marketplaces(connection=stale)
        assert counters(self.sim, self.connection.selling_partner_id) == before

    def test_get_asks_for_confirmation_and_changes_nothing(self):
        self.client.force_login(self.alice)
        page = self.client.get(self.url)
        self.assertContains(page, "Disconnect this seller account?")
        self.assertContains(page, f'<form method="post" action="{self.url}">')
        self.assertContains(page, '<a href="/amazon/" role="button" class="outline">Cancel</a>')
        self.connection.refresh_from_db()
        assert self.connection.status != "disconnected"
        assert self.connection.refresh_token_enc is not None

    def test_the_settings_page_links_to_the_confirmation_not_a_one_click_form(self):
        self.client.force_login(self.alice)
        page = self.client.get("/amazon/")
        self.assertContains(page, f'href="{self.url}">Disconnect…</a>')
        self.assertNotContains(page, f'action="{self.url}"')

    def test_members_get_404_for_the_confirmation_too(self):
        for user in (self.bob, self.charlie):
            self.client.force_login(user)
            assert self.client.get(self.url).status_code == 404

    def test_members_and_outsiders_get_404(self):
        for user in (self.bob, self.charlie):
            self.client.force_login(user)
            assert self.client.post(self.url).status_code == 404
        self.connection.refresh_from_db()
        assert self.connection.status == "active"
