"""On a 390 px phone, an owner opens Settings → Team, Security and API: nothing scrolls
sideways, however long the teammates' emails, browsers and keys; a new API key is
shown whole, and its Copy button puts it on the clipboard."""

import pytest
from django.test import RequestFactory

from cvrtracker.accounts.models import Membership
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.test import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = 390
LONG_AGENT = (
    "Mozilla/5.0 (Linux; Android 15; Pixel 9 Pro XL Build/AP4A.250105.002; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/141.0.7390.122 Mobile Safari/537.36"
)


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_settings_pages_fit_a_phone_and_the_new_key_copies(browser, live_server):
    owner = make_user("maximilian.vandersloot-ramaswamy@example-outdoor-supplies.com")
    team = owner.membership.team
    make_user(
        "procurement.and.listing-operations.team@very-long-subsidiary-name.example.co.uk",
        team=team,
        role=Membership.Role.MEMBER,
    )
    team.invitations.create(
        email="an.invited.colleague.with.a.long.address@another-long-domain.example.org",
        invited_by=owner,
    )
    request = RequestFactory().get(
        "/", REMOTE_ADDR="2001:db8:85a3::8a2e:370:7334", HTTP_USER_AGENT=LONG_AGENT
    )
    audit_record(action=AuditEntry.Action.LOGIN_FAILED, request=request, actor=owner)

    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": WIDTH, "height": 844},
        user_agent=LONG_AGENT,
        permissions=["clipboard-read", "clipboard-write"],
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(owner.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/dashboard/**")

        widths = {}
        for path in (
            "/accounts/settings/team/",
            "/accounts/settings/security/",
            "/accounts/settings/team/access-log/",
            "/settings/api/",
        ):
            page.goto(path)
            widths[path] = scroll_width(page)

        # A new key: shown whole (wrapped), with a Copy button that copies it.
        page.get_by_label("Name").fill("A spreadsheet with a rather long name for its key")
        page.get_by_role("button", name="Create key").click()
        key = page.locator("#new-api-key")
        token = key.inner_text().strip()
        assert token.startswith("cvrt_") and len(token) > 40
        box = key.bounding_box()
        assert box is not None and box["x"] + box["width"] <= WIDTH
        widths["/settings/api/ (new key)"] = scroll_width(page)
        # The key is not clipped: its box is as wide as its text needs.
        assert key.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
        page.get_by_role("button", name="Copy").click()
        assert page.evaluate("navigator.clipboard.readText()") == token
        assert page.get_by_role("button", name="Copied").is_visible()

        # Revoking asks first, on a page that fits the phone too.
        page.get_by_role("button", name="Revoke…").click()
        page.get_by_role("heading", name="Revoke this API key?").wait_for()
        widths["revoke confirmation"] = scroll_width(page)

        assert widths == {path: w for path, w in widths.items() if w <= WIDTH}, widths
        assert errors == [], errors
    finally:
        context.close()
