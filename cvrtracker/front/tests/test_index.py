from django.test import TestCase
from django.urls import reverse


class IndexTests(TestCase):
    def test_it_says_what_the_product_does(self):
        response = self.client.get(reverse("front:index"))
        self.assertContains(response, "conversion rate")
        self.assertContains(response, reverse("accounts:signup"))
        self.assertContains(response, reverse("front:privacy"))

    def test_it_loads_no_third_party_script_or_style(self):
        html = self.client.get(reverse("front:index")).content.decode()
        for tag in ("<script src=", '<link rel="stylesheet" href='):
            for chunk in html.split(tag)[1:]:
                self.assertTrue(chunk.startswith('"/static/'), chunk[:80])
