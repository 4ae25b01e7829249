from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from cvrtracker.amazon.client import AmazonError, ConnectionStopped
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import (
    connection_client,
    connection_disconnect,
    connection_sync_marketplaces,
)
from cvrtracker.amazon.signals import connection_stopped
from cvrtracker.lib.crypto import DecryptionError
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
        # Issue 12: the data key goes in the same UPDATE; nothing of it is readable now.
        assert self.connection.wrapped_data_key is None
        assert self.connection.stopped_at is not None
        with pytest.raises(DecryptionError):
            self.connection.data_key()
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

    def test_a_client_made_before_the_disconnect_sends_nothing_after_it(self):
        # A job in flight: it holds its client (and a live access token) already.
        api = connection_client(connection=self.connection)
        api.get_marketplace_participations()
        before = counters(self.sim, self.connection.selling_partner_id)
        connection_disconnect(connection=self.connection, actor=self.alice)
        for _ in range(3):
            with pytest.raises(ConnectionStopped) as caught:
                api.get_marketplace_participations()
            assert caught.value.permanent
        assert counters(self.sim, self.connection.selling_partner_id) == before

    def test_it_announces_the_stop_after_commit_once_with_the_reason(self):
        heard = []

        def listen(sender, *, connection, reason, **kwargs):
            heard.append((connection.pk, reason, connection.wrapped_data_key))

        connection_stopped.connect(listen)
        try:
            with self.captureOnCommitCallbacks() as callbacks:
                connection_disconnect(connection=self.connection, actor=self.alice)
            assert heard == []  # not before the commit
            for callback in callbacks:
                callback()
        finally:
            connection_stopped.disconnect(listen)
        assert heard == [(self.connection.pk, "disconnected", None)]

    def test_stopped_at_is_never_moved_later(self):
        first = datetime(2026, 11, 1, 12, tzinfo=UTC)
        with time_machine.travel(first, tick=False):
            connection_disconnect(connection=self.connection)
        with time_machine.travel(first + timedelta(days=3), tick=False):
            connection_disconnect(connection=self.connection)
        self.connection.refresh_from_db()
        assert self.connection.stopped_at == first

    def test_get_asks_for_confirmation_and_changes_nothing(self):
        self.client.force_login(self.alice)
        page = self.client.get(self.url)
        self.assertContains(page, "Disconnect this seller account?")
        self.assertContains(page, "destroys its encryption key")
        self.assertContains(page, "within minutes and at most 30 days")
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

    def test_the_settings_page_says_the_data_is_being_deleted_and_links_to_privacy(self):
        self.client.force_login(self.alice)
        self.client.post(self.url)
        page = self.client.get("/amazon/")
        self.assertContains(page, "Disconnected on")
        self.assertContains(page, "data being deleted")
        self.assertContains(page, 'href="/settings/privacy/#deletions"')
        self.assertNotContains(page, f'href="{self.url}"')
        self.assertNotContains(page, "No Amazon seller account is connected yet")
        # Once purged, nothing is left to show.
        from cvrtracker.privacy.purge import connection_purge

        connection_purge(connection=self.connection, reason="disconnected")
        page = self.client.get("/amazon/")
        self.assertNotContains(page, "Disconnected on")
        self.assertContains(page, "No Amazon seller account is connected yet")

    def test_members_and_outsiders_get_404(self):
        for user in (self.bob, self.charlie):
            self.client.force_login(user)
            assert self.client.post(self.url).status_code == 404
        self.connection.refresh_from_db()
        assert self.connection.status == "active"
