"""Settings → API: owners create keys (the secret shown once), everyone sees them."""

from django.urls import reverse

from cvrtracker.api.models import ApiKey
from cvrtracker.api.services import api_key_authenticate
from cvrtracker.audit.models import AuditEntry

from .helpers import ApiBillingTestCase

URL = reverse("api_keys:page")


class KeysPageTests(ApiBillingTestCase):
    def create(self, name="Finance sheet"):
        self.client.force_login(self.alice)
        return self.client.post(URL, {"name": name})

    def new_token(self, response) -> str:
        token = response.context["created"].token
        self.assertContains(response, token)
        return token

    def test_the_new_key_comes_with_a_copy_button_and_its_script(self):
        response = self.create()
        token = self.new_token(response)
        self.assertContains(response, f'<code id="new-api-key">{token}</code>')
        # Hidden until copy.js shows it: without JavaScript it could not copy anything.
        self.assertContains(response, 'data-copy="new-api-key" hidden>Copy</button>')
        self.assertContains(response, 'src="/static/js/copy.js"')
        self.assertNotContains(self.client.get(URL), "copy.js")
        self.assertNotContains(response, "onclick")

    def test_the_page_points_to_the_openapi_document(self):
        self.client.force_login(self.bob)
        self.assertContains(self.client.get(URL), "/api/v1/openapi.json")

    def test_the_owner_creates_a_key_and_sees_its_secret_once(self):
        response = self.create()
        self.assertEqual(response.status_code, 200)
        self.assertIn("no-store", response["Cache-Control"])
        self.assertContains(response, "shown only this once")
        token = self.new_token(response)
        key = api_key_authenticate(token=token)
        self.assertEqual(
            (key.name, key.team, key.created_by), ("Finance sheet", self.team, self.alice)
        )
        again = self.client.get(URL)
        self.assertContains(again, "Finance sheet")
        self.assertContains(again, key.prefix)
        self.assertNotContains(again, token)
        self.assertTrue(
            AuditEntry.objects.filter(
                action=AuditEntry.Action.API_KEY_CREATED, target_code=str(key.code)
            ).exists()
        )

    def test_a_key_needs_a_name(self):
        before = ApiKey.objects.count()
        response = self.create(name="")
        self.assertEqual(response.status_code, 200)
        self.assertIsNone(response.context["created"])
        self.assertEqual(ApiKey.objects.count(), before)

    def test_a_member_sees_the_keys_but_cannot_create_one(self):
        self.client.force_login(self.bob)
        response = self.client.get(URL)
        self.assertContains(response, "Spreadsheet")
        self.assertContains(response, "Only the team owner can create or revoke keys")
        self.assertNotContains(response, "Create key")
        before = ApiKey.objects.count()
        self.assertEqual(self.client.post(URL, {"name": "Mine"}).status_code, 404)
        self.assertEqual(ApiKey.objects.count(), before)

    def test_an_outsider_sees_only_his_own_teams_keys(self):
        self.client.force_login(self.charlie)
        response = self.client.get(URL)
        self.assertEqual(list(response.context["keys"]), [])
        self.assertNotContains(response, self.key.prefix)

    def test_the_page_explains_a_plan_without_the_api_and_refuses_new_keys(self):
        self.on_starter()
        self.client.force_login(self.alice)
        page = self.client.get(URL)
        self.assertContains(page, "The API is not part of your Starter plan. Upgrade to use it.")
        self.assertContains(page, 'href="/billing/"')
        self.assertNotContains(page, "Create key")
        before = ApiKey.objects.count()
        response = self.client.post(URL, {"name": "Sheet"}, follow=True)
        self.assertContains(response, "The API is not part of your Starter plan")
        self.assertEqual(ApiKey.objects.count(), before)
        # The key made on the trial is kept, and may still be revoked.
        self.assertContains(response, "Spreadsheet")
        self.assertContains(response, reverse("api_keys:revoke", args=[self.key.code]))

    def test_the_page_says_how_to_call_the_api(self):
        self.client.force_login(self.alice)
        response = self.client.get(URL)
        self.assertContains(response, "Authorization: Bearer cvrt_")
        self.assertContains(response, "/api/v1/connections")
        self.assertContains(response, "60 requests a minute")
