from django.urls import reverse

from cvrtracker.test import BaseTestCase

URL = reverse("dashboard:overview")


class DashboardTests(BaseTestCase):
    def test_it_requires_login(self):
        self.assertRedirects(self.client.get(URL), f"{reverse('accounts:login')}?next={URL}")

    def test_it_shows_my_team(self):
        self.client.force_login(self.bob)
        response = self.client.get(URL)
        self.assertContains(response, self.team.name)
        self.assertNotContains(response, self.charlies_team.name)

    def test_it_asks_unverified_users_to_confirm_their_email(self):
        self.alice.email_verified_at = None
        self.alice.save()
        self.client.force_login(self.alice)
        self.assertContains(self.client.get(URL), "confirm your email address")
