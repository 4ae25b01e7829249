"""Between the stop and the purge, a stopped seller account is gone for every page and
API endpoint: its key is destroyed, so nothing of it may be read, nor break a page."""

from __future__ import annotations

from django.urls import reverse

from cvrtracker.alerts.tests.helpers import make_alert, make_rule
from cvrtracker.amazon.client import RevokedAuthorization
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import connection_disconnect, connection_record_error
from cvrtracker.api.services import api_key_create
from cvrtracker.api.tests.helpers import seller_with_listings
from cvrtracker.listings.models import Listing
from cvrtracker.test import BaseTestCase

STORE = "Alice Outdoor Canary"


class StoppedReadsTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.connection, _, cls.listing, _ = seller_with_listings(
            cls.team, cls.alice, seller_id="A1ALICE", store_name=STORE
        )
        cls.alert = make_alert(make_rule(cls.team), cls.connection)

    def setUp(self):
        super().setUp()
        self.token = api_key_create(team=self.team, name="Sheet", actor=self.alice).token

    def pages(self) -> dict[str, str]:
        code = self.connection.code
        return {
            "products": f"/amazon/{code}/products/",
            "account changes": f"/amazon/{code}/changes/",
            "product changes": f"/amazon/products/{self.listing.code}/changes/",
            "alert": reverse("alerts:alert", args=[self.alert.code]),
            "dashboard": "/dashboard/",
            "dashboard products": "/dashboard/products/",
            "changes home": "/amazon/changes/",
            "alerts": "/alerts/",
            "settings": "/amazon/",
            "alert rules": "/settings/alerts/",
        }

    def api(self, path: str):
        return self.client.get(path, headers={"authorization": f"Bearer {self.token}"})

    def assert_gone(self) -> None:
        self.client.force_login(self.alice)
        gone = {"products", "account changes", "product changes", "alert"}
        for name, url in self.pages().items():
            response = self.client.get(url)
            expected = 404 if name in gone else 200
            assert response.status_code == expected, (name, response.status_code)
            body = response.content.decode()
            assert "Product 0" not in body, name
            assert STORE not in body, name
            assert "Garlic press" not in body, name
        listed = self.api("/api/v1/connections")
        assert listed.status_code == 200
        assert str(self.connection.code) not in listed.content.decode()
        for tail in ("products", "series", "changes"):
            url = f"/api/v1/connections/{self.connection.code}/{tail}"
            assert self.api(url).status_code == 404, tail

    def test_the_pages_show_the_data_while_connected(self):
        # The canaries are there before: the test below can fail.
        self.client.force_login(self.alice)
        self.assertContains(self.client.get(self.pages()["products"]), "Product 0")
        self.assertContains(self.client.get("/amazon/"), STORE)
        listed = self.api("/api/v1/connections")
        assert str(self.connection.code) in listed.content.decode()

    def test_after_a_disconnect_before_the_purge_nothing_is_shown_and_nothing_breaks(self):
        connection_disconnect(connection=self.connection, actor=self.alice)
        assert Listing.objects.filter(connection=self.connection).exists()  # not purged yet
        self.assert_gone()
        self.assertContains(self.client.get("/amazon/"), "data being deleted")

    def test_after_a_revocation_before_the_purge_the_same(self):
        connection_record_error(connection=self.connection, error=RevokedAuthorization())
        assert SellerConnection.objects.get(pk=self.connection.pk).wrapped_data_key is None
        self.assert_gone()
        self.assertContains(self.client.get("/amazon/"), "Access revoked or expired at Amazon")

    def test_a_teammate_sees_no_reconnect_button(self):
        connection_disconnect(connection=self.connection, actor=self.alice)
        self.client.force_login(self.bob)
        page = self.client.get("/amazon/")
        self.assertContains(page, "data being deleted")
        self.assertNotContains(page, "Reconnect</a>")
