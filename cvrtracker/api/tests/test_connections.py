"""GET /api/v1/connections: the team's seller accounts, never another team's."""

from django.urls import reverse

from cvrtracker.audit.models import AuditEntry

from .helpers import MARKET, ApiTestCase

URL = reverse("api:connections")


class ConnectionsTests(ApiTestCase):
    def test_it_lists_the_teams_connections(self):
        response = self.api(URL)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(),
            {
                "connections": [
                    {
                        "code": str(self.connection.code),
                        "name": "Alice Outdoor",
                        "selling_partner_id": "A1ALICE",
                        "region": "NA",
                        "status": "active",
                        "marketplaces": [
                            {
                                "id": MARKET,
                                "name": "Amazon.com",
                                "country_code": "US",
                                "currency": "USD",
                                "participating": True,
                            }
                        ],
                    }
                ]
            },
        )

    def test_it_never_lists_another_teams_connection(self):
        body = self.api(URL).content.decode()
        self.assertNotIn(str(self.charlies_connection.code), body)
        self.assertNotIn("Charlie Home", body)

    def test_a_disconnected_account_is_not_listed(self):
        # Issue 12: gone for the API from the disconnect on (it was listed by its
        # seller id before), while its data is being purged.
        self.connection.status = self.connection.Status.DISCONNECTED
        self.connection.save(update_fields=["status"])
        self.assertEqual(self.api(URL).json()["connections"], [])
        products = f"/api/v1/connections/{self.connection.code}/products"
        self.assertEqual(self.api(products).status_code, 404)

    def test_the_read_is_audited_as_the_keys_creator(self):
        self.api(URL)
        (entry,) = self.reads(AuditEntry.Action.API_CONNECTIONS_READ)
        self.assertEqual((entry.actor, entry.team), (self.alice, self.team))
        self.assertEqual(entry.ip, "127.0.0.1")
