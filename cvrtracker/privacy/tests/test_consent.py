from django.test import TestCase, override_settings
from django.urls import reverse

from cvrtracker.test import make_user

SCRIPT = "https://stats.example.net/script.js"


class NoAnalyticsConfiguredTests(TestCase):
    @override_settings(ANALYTICS_SCRIPT_URL="")
    def test_there_is_no_banner_and_the_page_says_no_analytics(self):
        response = self.client.get(reverse("front:index"))
        self.assertNotContains(response, "Accept analytics")
        page = self.client.get(reverse("privacy:cookies"))
        self.assertContains(page, "This site uses no analytics")
        self.assertNotContains(page, "Accept analytics")
        self.assertNotIn("stats.example.net", page["Content-Security-Policy"])

    @override_settings(ANALYTICS_SCRIPT_URL="")
    def test_a_stale_consent_cookie_loads_nothing(self):
        self.client.cookies["cvr_consent"] = "analytics"
        response = self.client.get(reverse("front:index"))
        self.assertNotContains(response, '<script src="https://')


@override_settings(ANALYTICS_SCRIPT_URL=SCRIPT)
class ConsentTests(TestCase):
    def test_before_a_choice_the_banner_asks_and_nothing_loads(self):
        response = self.client.get(reverse("front:index"))
        self.assertContains(response, "Accept analytics")
        self.assertNotContains(response, SCRIPT)
        self.assertNotIn("stats.example.net", response["Content-Security-Policy"])
        self.assertNotIn("cvr_consent", response.cookies)

    def test_accepting_sets_the_cookie_and_loads_the_script_with_its_origin_allowed(self):
        response = self.client.post(
            reverse("privacy:cookies"), {"choice": "analytics", "next": "/privacy/"}
        )
        self.assertRedirects(response, "/privacy/", fetch_redirect_response=False)
        cookie = response.cookies["cvr_consent"]
        self.assertEqual(cookie.value, "analytics")
        self.assertEqual(cookie["samesite"], "Lax")
        self.assertEqual(cookie["max-age"], 365 * 24 * 3600)
        self.assertTrue(cookie["httponly"])
        page = self.client.get(reverse("front:index"))
        self.assertContains(page, f'<script src="{SCRIPT}" defer data-analytics></script>')
        self.assertNotContains(page, "Accept analytics")
        csp = page["Content-Security-Policy"]
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        self.assertIn("https://stats.example.net", script_src)
        self.assertIn("'self'", script_src)

    def test_the_analytics_origin_is_not_added_to_other_responses(self):
        self.client.cookies["cvr_consent"] = "analytics"
        response = self.client.get(reverse("front:healthz"))
        self.assertNotIn("stats.example.net", response.get("Content-Security-Policy", ""))

    def test_essential_only_loads_nothing_and_expires_other_cookies(self):
        self.client.cookies["_analytics"] = "1"
        response = self.client.post(reverse("privacy:cookies"), {"choice": "essential"})
        self.assertRedirects(response, reverse("privacy:cookies"), fetch_redirect_response=False)
        self.assertEqual(response.cookies["cvr_consent"].value, "essential")
        self.assertEqual(response.cookies["_analytics"]["max-age"], 0)
        page = self.client.get(reverse("front:index"))
        self.assertNotContains(page, SCRIPT)
        self.assertNotContains(page, "Accept analytics")

    def test_the_essential_cookies_are_kept_on_withdrawal(self):
        self.client.force_login(make_user("dana@example.org"))
        self.client.cookies["csrftoken"] = "x" * 32
        response = self.client.post(reverse("privacy:cookies"), {"choice": "essential"})
        for name in ("sessionid", "csrftoken"):
            if name in response.cookies:  # set again by Django, never expired by us
                self.assertNotEqual(response.cookies[name]["max-age"], 0)
                self.assertNotEqual(response.cookies[name].value, "")
        # Still logged in.
        self.assertEqual(self.client.get(reverse("privacy:data")).status_code, 200)

    @override_settings(SECURE=True)
    def test_the_cookie_is_secure_on_https(self):
        response = self.client.post(reverse("privacy:cookies"), {"choice": "essential"})
        self.assertTrue(response.cookies["cvr_consent"]["secure"])

    def test_an_unknown_choice_is_refused_and_changes_nothing(self):
        response = self.client.post(reverse("privacy:cookies"), {"choice": "everything"})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "Please choose one of the buttons", status_code=400)
        self.assertNotIn("cvr_consent", response.cookies)

    def test_an_outside_next_is_ignored(self):
        response = self.client.post(
            reverse("privacy:cookies"), {"choice": "analytics", "next": "https://evil.example/"}
        )
        self.assertRedirects(response, reverse("privacy:cookies"), fetch_redirect_response=False)

    def test_a_forged_cookie_value_counts_as_no_choice(self):
        self.client.cookies["cvr_consent"] = "yes-please"
        response = self.client.get(reverse("front:index"))
        self.assertContains(response, "Accept analytics")
        self.assertNotContains(response, SCRIPT)

    def test_the_footer_links_to_the_cookie_page(self):
        response = self.client.get(reverse("front:index"))
        self.assertContains(response, f'href="{reverse("privacy:cookies")}"')
