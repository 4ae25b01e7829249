from urllib.parse import parse_qs, urlsplit

import pytest

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.test import BaseTestCase

from .helpers import confirm_consent, connect_seller


class ConnectCompleteTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sim):
        self.sim = sim
        self.seller_id = sim.world.sellers[0].id

    def start(self, user=None) -> str:
        """Log in, press Connect (NA) and confirm on the consent page: the callback URL."""
        self.client.force_login(user or self.alice)
        response = self.client.get("/amazon/connect/NA/")
        assert response.status_code == 302
        return confirm_consent(self.sim, response["Location"])

    def test_it_connects_the_seller_with_an_encrypted_token(self):
        callback = self.start()
        assert callback.startswith("/amazon/callback/?")
        response = self.client.get(callback)
        self.assertRedirects(response, "/amazon/")
        connection = SellerConnection.objects.get()
        assert connection.team == self.team and connection.created_by == self.alice
        assert connection.selling_partner_id == self.seller_id
        assert connection.status == "active" and connection.region == "NA"
        assert connection.unseal("refresh_token", connection.refresh_token_enc).startswith("Atzr|")
        assert connection.marketplaces[0]["id"] == "ATVPDKIKX0DER"
        assert connection.store_name == self.sim.world.sellers[0].store_name
        assert connection.marketplaces_synced_at is not None
        page = self.client.get("/amazon/")
        self.assertContains(page, "Amazon.com")
        self.assertContains(page, connection.store_name)
        self.assertNotContains(page, "Atzr|")

    def test_it_rejects_a_missing_state(self):
        callback = self.start()
        query = parse_qs(urlsplit(callback).query)
        response = self.client.get(
            "/amazon/callback/",
            {
                "selling_partner_id": self.seller_id,
                "spapi_oauth_code": query["spapi_oauth_code"][0],
            },
        )
        assert response.status_code == 400
        assert not SellerConnection.objects.exists()

    def test_it_rejects_a_wrong_state(self):
        callback = self.start()
        response = self.client.get(callback.replace("state=", "state=x"))
        assert response.status_code == 400
        assert not SellerConnection.objects.exists()

    def test_it_rejects_a_state_that_is_not_ascii(self):
        # secrets.compare_digest refuses non-ASCII str (TypeError: a 500 before the fix,
        # found by tests/test_bad_input.py).
        callback = self.start()
        response = self.client.get(callback.replace("state=", "state=%C3%A9"))
        assert response.status_code == 400
        assert not SellerConnection.objects.exists()

    def test_it_rejects_a_replayed_state(self):
        callback = self.start()
        assert self.client.get(callback).status_code == 302
        SellerConnection.objects.all().delete()
        assert self.client.get(callback).status_code == 400
        assert not SellerConnection.objects.exists()

    def test_it_rejects_a_state_from_another_session(self):
        callback = self.start(self.charlie)
        self.client.force_login(self.alice)
        assert self.client.get(callback).status_code == 400
        assert not SellerConnection.objects.exists()

    def test_it_refuses_a_seller_connected_to_another_team(self):
        connect_seller(self.sim, team=self.charlies_team, user=self.charlie)
        response = self.client.get(self.start())
        self.assertContains(response, "already connected to another team", status_code=400)
        assert SellerConnection.objects.get().team == self.charlies_team

    def test_it_reports_an_expired_or_used_code(self):
        callback = self.start()
        # The simulator's code works once: a first exchange by someone else spends it.
        code = parse_qs(urlsplit(callback).query)["spapi_oauth_code"][0]
        from cvrtracker.amazon.client import lwa_exchange_code

        lwa_exchange_code(code=code)
        response = self.client.get(callback)
        self.assertContains(response, "did not confirm the authorization", status_code=502)
        assert not SellerConnection.objects.exists()

    def test_it_requires_a_verified_email(self):
        callback = self.start()
        self.alice.email_verified_at = None
        self.alice.save()
        response = self.client.get(callback)
        self.assertContains(response, "Confirm your email address", status_code=400)
        assert not SellerConnection.objects.exists()

    def test_it_reconnects_a_revoked_connection_of_the_same_team(self):
        # Issue 12: a revoked connection's data is purged; the reconnect is a new one.
        old = SellerConnection.objects.create(
            team=self.team, region="NA", selling_partner_id=self.seller_id, status="revoked"
        )
        assert self.client.get(self.start()).status_code == 302
        connection = SellerConnection.objects.get()
        assert connection.status == "active" and connection.refresh_token_enc
        assert connection.code != old.code

    def test_reconnecting_a_disconnected_seller_starts_from_an_empty_history_with_a_new_key(self):
        from cvrtracker.amazon.services import connection_disconnect
        from cvrtracker.listings.models import Listing
        from cvrtracker.listings.services import listings_admit
        from cvrtracker.listings.tests.helpers import item
        from cvrtracker.privacy.models import ConnectionDeletion

        self.client.get(self.start())
        old = SellerConnection.objects.get()
        old_key = bytes(old.wrapped_data_key)
        listings_admit(
            connection=old, marketplace_id="ATVPDKIKX0DER", items=[item("SKU-1", "B0OLD00001")]
        )
        # Disconnected; its purge task has not run yet (on_commit is not run here).
        connection_disconnect(connection=old, actor=self.alice)
        assert Listing.objects.filter(connection=old).count() == 1
        self.assertRedirects(self.client.get(self.start()), "/amazon/")
        new = SellerConnection.objects.get()
        assert new.code != old.code and new.status == "active"
        assert new.wrapped_data_key and bytes(new.wrapped_data_key) != old_key
        assert not Listing.objects.exists()
        receipt = ConnectionDeletion.objects.get(connection_code=old.code)
        assert receipt.purged_at and receipt.counts["listings"] == 1
        assert new.store_name == self.sim.world.sellers[0].store_name

    def test_another_team_may_connect_a_seller_another_team_disconnected(self):
        from cvrtracker.amazon.services import connection_disconnect

        self.client.get(self.start(self.charlie))
        theirs = SellerConnection.objects.get()
        assert theirs.team == self.charlies_team
        connection_disconnect(connection=theirs, actor=self.charlie)
        self.assertRedirects(self.client.get(self.start()), "/amazon/")
        mine = SellerConnection.objects.get()
        assert mine.team == self.team and mine.code != theirs.code

    def test_members_and_outsiders_get_404(self):
        self.client.force_login(self.bob)
        assert self.client.get("/amazon/callback/?state=x").status_code == 404


class LoginHopTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _sim(self, sim):
        self.sim = sim

    def test_it_sends_the_seller_back_to_amazon_with_a_state(self):
        self.client.force_login(self.alice)
        callback_uri = f"{self.sim.base_url}/apps/authorize/confirm"
        response = self.client.get(
            "/amazon/login/",
            {"amazon_callback_uri": callback_uri, "amazon_state": "abc", "selling_partner_id": "S"},
        )
        assert response.status_code == 302
        location = urlsplit(response["Location"])
        query = parse_qs(location.query)
        assert f"{location.scheme}://{location.netloc}{location.path}" == callback_uri
        assert query["amazon_state"] == ["abc"] and query["version"] == ["beta"]
        assert query["state"] == [self.client.session["amazon_connect"]["state"]]
        assert query["redirect_uri"] == ["http://127.0.0.1:8000/amazon/callback/"]

    def test_it_never_redirects_elsewhere(self):
        self.client.force_login(self.alice)
        for uri in ("https://evil.example/apps/authorize/confirm", "javascript:alert(1)", ""):
            response = self.client.get(
                "/amazon/login/", {"amazon_callback_uri": uri, "amazon_state": "abc"}
            )
            assert response.status_code == 400

    def test_it_asks_anonymous_sellers_to_log_in_first(self):
        response = self.client.get("/amazon/login/?amazon_state=abc")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
