"""POST /settings/api/<code>/revoke/: the team owner revokes a key."""

from django.urls import reverse

from cvrtracker.api.services import api_key_authenticate, api_key_create

from .helpers import ApiTestCase


class KeyRevokeTests(ApiTestCase):
    def url(self, key=None) -> str:
        return reverse("api_keys:revoke", args=[(key or self.key).code])

    def test_the_owner_revokes_a_key(self):
        self.client.force_login(self.alice)
        response = self.client.post(self.url(), follow=True)
        self.assertRedirects(response, reverse("api_keys:page"))
        self.assertContains(response, "is revoked: it no longer works")
        self.assertIsNone(api_key_authenticate(token=self.token))
        self.assertEqual(self.api(reverse("api:connections")).status_code, 401)

    def test_a_member_cannot(self):
        self.client.force_login(self.bob)
        self.assertEqual(self.client.post(self.url()).status_code, 404)
        self.assertEqual(api_key_authenticate(token=self.token), self.key)

    def test_an_outsider_gets_404(self):
        charlies = api_key_create(team=self.charlies_team, name="BI", actor=self.charlie)
        self.client.force_login(self.charlie)
        self.assertEqual(self.client.post(self.url()).status_code, 404)
        self.assertEqual(api_key_authenticate(token=self.token), self.key)
        self.client.force_login(self.alice)
        self.assertEqual(self.client.post(self.url(charlies.key)).status_code, 404)
        self.assertEqual(api_key_authenticate(token=charlies.token), charlies.key)

    def test_get_asks_for_confirmation_and_revokes_nothing(self):
        self.client.force_login(self.alice)
        page = self.client.get(self.url())
        self.assertContains(page, "Revoke this API key?")
        self.assertContains(page, f"“Spreadsheet” ({self.key.prefix}…)")
        self.assertContains(page, f'<form method="post" action="{self.url()}">')
        self.assertEqual(api_key_authenticate(token=self.token), self.key)
        self.assertEqual(self.client.put(self.url()).status_code, 405)

    def test_the_keys_page_links_to_the_confirmation(self):
        self.client.force_login(self.alice)
        page = self.client.get(reverse("api_keys:page"))
        self.assertContains(page, f'href="{self.url()}">Revoke…</a>')
        self.assertNotContains(page, f'action="{self.url()}"')

    def test_members_and_outsiders_get_404_for_the_confirmation(self):
        for user in (self.bob, self.charlie):
            self.client.force_login(user)
            self.assertEqual(self.client.get(self.url()).status_code, 404)
