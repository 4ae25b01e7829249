from django.test import TestCase, override_settings
from django.urls import reverse


class SecurityHeadersTests(TestCase):
    def test_pages_carry_a_strict_csp(self):
        response = self.client.get(reverse("front:index"))
        csp = response["Content-Security-Policy"]
        self.assertIn("default-src 'self'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)

    def test_pages_refuse_framing_and_sniffing(self):
        response = self.client.get(reverse("front:index"))
        self.assertEqual(response["X-Frame-Options"], "DENY")
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        self.assertEqual(response["Referrer-Policy"], "same-origin")

    def test_pages_have_no_inline_script_or_style(self):
        for name in ("front:index", "front:privacy", "accounts:login", "accounts:signup"):
            html = self.client.get(reverse(name)).content.decode()
            self.assertNotIn("<script>", html, name)
            self.assertNotIn("<style", html, name)
            self.assertNotIn(" style=", html, name)

    @override_settings(
        SECURE_SSL_REDIRECT=True,
        SECURE_HSTS_SECONDS=31536000,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    )
    def test_https_responses_carry_hsts(self):
        plain = self.client.get(reverse("front:index"))
        self.assertEqual(plain.status_code, 301)
        self.assertTrue(plain["Location"].startswith("https://"))
        secure = self.client.get(reverse("front:index"), secure=True)
        self.assertEqual(secure["Strict-Transport-Security"], "max-age=31536000; includeSubDomains")
