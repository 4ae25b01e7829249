"""GET /api/v1/openapi.json: the document is derived from the code and covers all of it."""

from __future__ import annotations

from django.urls import get_resolver, reverse

from cvrtracker.api import schemas
from cvrtracker.test import BaseTestCase


class OpenApiDocumentTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        response = self.client.get(reverse("api:openapi"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/json")
        self.doc = response.json()

    def test_every_endpoint_of_the_url_configuration_is_documented(self):
        _, resolver = get_resolver().namespace_dict["api"]
        named = {p.name for p in resolver.url_patterns if getattr(p, "name", None)}
        operations = {op["get"]["operationId"] for op in self.doc["paths"].values()}
        self.assertEqual(operations, named - {"openapi"})
        self.assertEqual(self.doc["openapi"], "3.1.0")
        self.assertTrue(self.doc["servers"][0]["url"].endswith("/api/v1"))

    def test_it_documents_the_bearer_scheme_and_every_refusal(self):
        self.assertEqual(self.doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer")
        self.assertEqual(self.doc["security"], [{"bearer": []}])
        changes = self.doc["paths"]["/connections/{code}/changes"]["get"]
        self.assertEqual(set(changes["responses"]), {"200", "400", "401", "403", "404", "429"})
        self.assertIn("Retry-After", changes["responses"]["429"]["headers"])
        connections = self.doc["paths"]["/connections"]["get"]
        self.assertEqual(set(connections["responses"]), {"200", "401", "403", "429"})

    def test_parameters_come_from_the_forms(self):
        products = self.doc["paths"]["/connections/{code}/products"]["get"]
        params = {p["name"]: p for p in products["parameters"]}
        self.assertEqual(set(params), {"code", "marketplace", "start", "end", "order_by", "limit"})
        self.assertEqual(params["code"]["in"], "path")
        self.assertEqual(params["code"]["schema"]["format"], "uuid")
        self.assertEqual(
            params["limit"]["schema"], {"type": "integer", "minimum": 1, "maximum": 10000}
        )
        self.assertIn("-conversion_rate", params["order_by"]["schema"]["enum"])
        self.assertEqual(params["start"]["schema"]["format"], "date")
        self.assertIn("yesterday", params["end"]["description"])
        series = self.doc["paths"]["/connections/{code}/products/{asin}/series"]["get"]
        asin = next(p for p in series["parameters"] if p["name"] == "asin")
        self.assertEqual(asin["schema"]["pattern"], "^[A-Z0-9]{10}$")

    def test_response_schemas_are_the_structs_that_serialise_the_answers(self):
        components = self.doc["components"]["schemas"]
        row = components["ProductRow"]["properties"]
        self.assertEqual(set(row), set(schemas.ProductRow.__struct_fields__))
        self.assertIn("fraction", row["conversion_rate"]["description"])
        day = components["DayRow"]["properties"]
        self.assertIn("percentage", day["unit_session_percentage"]["description"])
        self.assertIn("fraction", day["conversion_rate"]["description"])
        impact = components["Impact"]["properties"]
        self.assertEqual(
            set(impact["verdict"]["enum"]),
            {"improved", "worsened", "no_clear_effect", "not_enough_data"},
        )
        change = components["Change"]
        self.assertIn("impact", change["required"])
        self.assertNotIn("pct", change["required"])

    def test_it_needs_no_key(self):
        # A description holds no data: clients and tools read it before they have a key.
        self.assertIn("paths", self.doc)


class NotFoundTests(BaseTestCase):
    def test_an_unknown_path_under_the_api_is_a_json_404(self):
        for path in ("/api/v1/nope", "/api/v1/connections/not-a-uuid/products"):
            response = self.client.get(path)
            self.assertEqual(response.status_code, 404)
            self.assertEqual(response.json(), {"error": "Not found."})
