"""api_view: key, method, rate limit and plan, before any endpoint runs."""

from django.test import override_settings
from django.urls import reverse

from cvrtracker.api.services import api_key_revoke
from cvrtracker.audit.models import AuditEntry
from cvrtracker.billing.limits import READ_ONLY_MESSAGE

from .helpers import ApiBillingTestCase

URL = reverse("api:connections")


class AuthenticationTests(ApiBillingTestCase):
    def assert_unauthorized(self, response, *, invalid_token: bool):
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertTrue(response["WWW-Authenticate"].startswith("Bearer "))
        self.assertEqual('error="invalid_token"' in response["WWW-Authenticate"], invalid_token)
        self.assertIn("error", response.json())

    def test_no_key_is_401(self):
        self.assert_unauthorized(self.client.get(URL), invalid_token=False)
        response = self.client.get(URL, headers={"authorization": f"Basic {self.token}"})
        self.assert_unauthorized(response, invalid_token=False)

    def test_an_unknown_key_is_401(self):
        self.assert_unauthorized(self.api(URL, token="cvrt_nope"), invalid_token=True)

    def test_a_revoked_key_is_401(self):
        api_key_revoke(key=self.key, actor=self.alice)
        self.assert_unauthorized(self.api(URL), invalid_token=True)

    def test_a_logged_in_browser_without_a_key_is_401(self):
        self.client.force_login(self.alice)
        self.assert_unauthorized(self.client.get(URL), invalid_token=False)

    def test_nothing_is_audited_without_a_key(self):
        self.client.get(URL)
        self.api(URL, token="cvrt_nope")
        self.assertEqual(self.reads(AuditEntry.Action.API_CONNECTIONS_READ), [])

    def test_answers_are_not_cached_and_set_no_cookie(self):
        response = self.api(URL)
        self.assertEqual(response.status_code, 200)
        self.assertIn("no-store", response["Cache-Control"])
        self.assertEqual(response.cookies, {})

    def test_the_api_is_read_only(self):
        for method in (self.client.post, self.client.put, self.client.delete):
            response = method(URL, headers={"authorization": f"Bearer {self.token}"})
            self.assertEqual(response.status_code, 405)
            self.assertEqual(response["Allow"], "GET, HEAD")
        # Without a key, nothing is said about the method either.
        self.assertEqual(self.client.post(URL).status_code, 401)


class PlanTests(ApiBillingTestCase):
    def test_a_plan_without_the_api_is_403_with_the_upgrade_link(self):
        self.on_starter()
        response = self.api(URL)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(
            response.json(),
            {
                "error": "The API is not part of your Starter plan. Upgrade to use it.",
                "upgrade_url": "http://127.0.0.1:8000/billing/",
            },
        )
        self.assertEqual(self.reads(AuditEntry.Action.API_CONNECTIONS_READ), [])

    def test_pro_answers(self):
        self.subscribe(price="pro_monthly", lookup_key="pro_monthly")
        self.assertEqual(self.api(URL).status_code, 200)

    def test_a_read_only_team_is_refused_like_every_other_plan_limit(self):
        # limits.team_can(API) refuses a team whose subscription ended; its data stays
        # readable on the site, and the API answers again once it subscribes.
        self.end_the_trial()
        response = self.api(URL)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json()["error"], READ_ONLY_MESSAGE)
        self.assertTrue(response.json()["upgrade_url"].endswith("/billing/"))


class RateLimitTests(ApiBillingTestCase):
    @override_settings(API_RATE_LIMIT_PER_MINUTE=3)
    def test_it_answers_429_with_retry_after_beyond_the_limit(self):
        statuses = [self.api(URL).status_code for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 200])
        response = self.api(URL)
        self.assertEqual(response.status_code, 429)
        self.assertIn("Too many requests", response.json()["error"])
        self.assertTrue(1 <= int(response["Retry-After"]) <= 20)
        # A throttled call read nothing, so it is not in the audit log.
        self.assertEqual(len(self.reads(AuditEntry.Action.API_CONNECTIONS_READ)), 3)
