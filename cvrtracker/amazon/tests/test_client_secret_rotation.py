"""LWA client secret rotation against the simulator: two configured secrets, the
switch to the one LWA accepts, and an operator alarm (not a seller's reconnect
call to action) when LWA refuses both."""

from __future__ import annotations

import logging

import pytest

from cvrtracker.amazon import client
from cvrtracker.amazon.client import ClientCredentialsRefused
from cvrtracker.amazon.models import OperatorAlarm, SellerConnection
from cvrtracker.amazon.services import CREDENTIALS_WORDS, connection_access_token
from cvrtracker.simulator.testing import SimClient
from cvrtracker.test import BaseTestCase

from .helpers import connect_seller

CLIENT_LOG = "cvrtracker.amazon.client"


class ClientSecretRotationTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sim, settings):
        self.sim, self.settings = sim, settings
        self.old = sim.sim.app.client_secret
        client._working_secret.clear()
        yield
        client._working_secret.clear()

    def setUp(self):
        super().setUp()
        self.connection = connect_seller(self.sim, team=self.team, user=self.alice)

    def refresh(self) -> str:
        return connection_access_token(connection=self.connection, force=True)

    def rotate_at_amazon(self, new: str) -> None:
        SimClient(self.sim).post("/_sim/app/client-secret/rotate", json_body={"clientSecret": new})

    def expire_the_old_secret_at_amazon(self) -> None:
        SimClient(self.sim).post("/_sim/app/client-secret/expire-previous")

    def test_the_old_secret_keeps_working_while_both_are_valid(self):
        self.rotate_at_amazon("new-secret")
        assert self.refresh().startswith("Atza|")  # still configured with the old one
        self.expire_the_old_secret_at_amazon()
        with pytest.raises(ClientCredentialsRefused):
            self.refresh()

    def test_it_switches_to_the_other_configured_secret_and_keeps_it(self):
        # Deployed ahead of the rotation: the new secret is not valid at Amazon yet.
        self.settings.LWA_CLIENT_SECRET = "new-secret"
        self.settings.LWA_CLIENT_SECRET_PREVIOUS = self.old
        with self.assertLogs(CLIENT_LOG, logging.WARNING) as logs:
            assert self.refresh().startswith("Atza|")
        assert any("accepted the other configured client secret" in m for m in logs.output)
        # The old one is kept while it works: no more refusals.
        with self.assertNoLogs(CLIENT_LOG, logging.WARNING):
            self.refresh()
        self.rotate_at_amazon("new-secret")
        self.expire_the_old_secret_at_amazon()
        with self.assertLogs(CLIENT_LOG, logging.WARNING) as logs:
            assert self.refresh().startswith("Atza|")
        assert any("accepted the other configured client secret" in m for m in logs.output)
        with self.assertNoLogs(CLIENT_LOG, logging.WARNING):
            self.refresh()
        assert not OperatorAlarm.objects.exists()

    def test_with_both_secrets_refused_the_operator_is_alarmed_and_the_seller_reassured(self):
        self.settings.LWA_CLIENT_SECRET = "wrong-1"
        self.settings.LWA_CLIENT_SECRET_PREVIOUS = "wrong-2"
        with (
            self.assertLogs("cvrtracker.amazon.authorization", logging.ERROR) as logs,
            pytest.raises(ClientCredentialsRefused),
        ):
            self.refresh()
        assert "LWA_CLIENT_SECRET" in logs.output[0]
        # Logged once, however many connections and jobs hit it afterwards.
        with (
            self.assertNoLogs("cvrtracker.amazon.authorization", logging.ERROR),
            pytest.raises(ClientCredentialsRefused),
        ):
            self.refresh()
        row = SellerConnection.objects.get(pk=self.connection.pk)
        assert row.status == SellerConnection.Status.ACTIVE  # nothing for the seller to redo
        assert row.refresh_token_enc
        assert row.last_error == CREDENTIALS_WORDS
        assert "reconnect" not in row.last_error.lower()
        health = self.client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["alerts"] == ["lwa_client_credentials"]
        self.client.force_login(self.alice)
        page = self.client.get("/amazon/")
        self.assertContains(page, "Amazon sign-in for CVR Tracker is being renewed")
        self.assertNotContains(page, "Reconnect")
        # The operator fixes the configuration: the next token clears the alarm.
        self.settings.LWA_CLIENT_SECRET = self.old
        self.refresh()
        assert "alerts" not in self.client.get("/healthz").json()
        assert OperatorAlarm.objects.get().cleared_at is not None
