"""The demo world of `make run`: a newcomer can connect a seller nobody has, on any port."""

from __future__ import annotations

import pytest

from cvrtracker.amazon import client
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.simulator.testing import running_simulator
from cvrtracker.test import BaseTestCase

from .conftest import point_settings_at
from .helpers import confirm_consent, connect_seller

CALLBACK_9000 = "http://127.0.0.1:9000/amazon/callback/"


class DemoWorldTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, settings):
        # PORT=9000 make run: the site's callback follows the port, and the simulator (started
        # under the same settings) registers it. Three sellers, as runall starts them.
        settings.AMAZON_REDIRECT_URI = CALLBACK_9000
        with running_simulator(asins=5, sellers=3) as server:
            point_settings_at(settings, server)
            settings.AMAZON_REDIRECT_URI = CALLBACK_9000
            self.sim = server
            yield
        client._http.cache_clear()

    def connect(self, seller: int):
        self.client.force_login(self.charlie)
        response = self.client.get("/amazon/connect/NA/")
        assert response.status_code == 302
        assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A9000" in response["Location"]
        return self.client.get(confirm_consent(self.sim, response["Location"], seller=seller))

    def test_a_newcomer_connects_a_seller_the_demo_team_does_not_have(self):
        connect_seller(self.sim, team=self.team, user=self.alice)  # demo_connect: seller 0
        response = self.connect(seller=2)  # the next North American seller
        self.assertRedirects(response, "/amazon/")
        connection = SellerConnection.objects.get(team=self.charlies_team)
        assert connection.selling_partner_id == self.sim.world.sellers[2].id
        assert connection.status == "active"

    def test_the_demo_teams_seller_stays_the_demo_teams(self):
        connect_seller(self.sim, team=self.team, user=self.alice)
        response = self.connect(seller=0)
        self.assertContains(response, "already connected to another team", status_code=400)
        assert not SellerConnection.objects.filter(team=self.charlies_team).exists()
