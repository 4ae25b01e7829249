"""A visitor on a site whose operator configured analytics: nothing of it exists before
they accept it on the banner; it loads and sets its cookie once they do; and it is gone
again after they choose essential cookies only on the cookie page."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

# What a real analytics script does first: remember the visitor in a first-party cookie.
SCRIPT = b'document.cookie = "_analytics=visitor-1; path=/; SameSite=Lax";\n'


class AnalyticsServer(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's hook name
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/javascript")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(SCRIPT)

    def log_message(self, *args):
        pass


@pytest.fixture
def analytics(settings):
    AnalyticsServer.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), AnalyticsServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ANALYTICS_SCRIPT_URL = f"http://127.0.0.1:{server.server_port}/analytics.js"
    yield AnalyticsServer.requests
    server.shutdown()
    server.server_close()


def analytics_cookies(page) -> list[dict]:
    return [c for c in page.context.cookies() if c["name"] == "_analytics"]


def test_analytics_wait_for_consent_and_leave_when_it_is_withdrawn(page, analytics):
    page.goto("/")
    page.wait_for_load_state("networkidle")
    banner = page.get_by_role("complementary", name="Cookie choice")
    expect(banner).to_be_visible()
    assert page.locator("script[data-analytics]").count() == 0
    assert "analytics.js" not in page.content()
    assert analytics_cookies(page) == []
    assert analytics == [], "the script was requested before consent"

    banner.get_by_role("button", name="Accept analytics").click()
    page.wait_for_url("**/")
    expect(page.locator("script[data-analytics]")).to_have_count(1)
    page.wait_for_function("document.cookie.includes('_analytics=visitor-1')")
    assert analytics == ["/analytics.js"]
    assert [c["value"] for c in analytics_cookies(page)] == ["visitor-1"]
    consent = [c for c in page.context.cookies() if c["name"] == "cvr_consent"]
    assert [(c["value"], c["sameSite"], c["httpOnly"]) for c in consent] == [
        ("analytics", "Lax", True)
    ]
    expect(banner).to_have_count(0)

    page.get_by_role("link", name="Cookies").click()
    expect(page.get_by_role("heading", name="Cookies", level=1)).to_be_visible()
    page.wait_for_load_state("networkidle")
    loaded = len(analytics)  # the cookie page itself still loads it, as consented
    page.get_by_role("button", name="Essential cookies only").click()
    expect(page.get_by_text("essential cookies only", exact=True)).to_be_visible()
    assert page.locator("script[data-analytics]").count() == 0
    assert analytics_cookies(page) == []

    page.goto("/")
    page.wait_for_load_state("networkidle")
    assert page.locator("script[data-analytics]").count() == 0
    assert analytics_cookies(page) == []
    assert len(analytics) == loaded, "the script was requested after withdrawal"
    # The choice is remembered: no banner asks again.
    expect(page.get_by_role("complementary", name="Cookie choice")).to_have_count(0)
