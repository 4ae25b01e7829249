"""A seller turns on two-factor log-in by scanning a QR code, logs out, and logs back
in with the password and a code from their app (computed here, as the app would)."""

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from cvrtracker.test import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def app_code(secret: str, *, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for `secret` (RFC 6238: HMAC-SHA1, 30 s, 6 digits).

    A code is accepted once; the next log-in uses the next step's code, which the
    server accepts within its one-step tolerance."""
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key, step=30, t0=-30 * steps_ahead, digits=6):06d}"


def test_a_seller_turns_on_two_factor_and_logs_in_with_a_code(page):
    make_user("dana@example.com")
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("dana@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    page.goto("/accounts/settings/security/")
    page.get_by_role("button", name="Set up two-factor log-in").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.get_by_test_id("mfa-secret").inner_text()
    page.get_by_label("Code").fill(app_code(secret))
    page.get_by_role("button", name="Turn on two-factor log-in").click()
    expect(page.get_by_role("heading", name="Two-factor log-in is on")).to_be_visible()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("button", name="I have saved them").click()
    expect(page.get_by_text("10 recovery codes left")).to_be_visible()

    page.get_by_role("button", name="Log out", exact=True).click()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("dana@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Two-factor code")).to_be_visible()
    # The password alone opens nothing.
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    page.get_by_label("Email").fill("dana@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    # django-otp makes the device wait a second after a wrong code.
    page.wait_for_timeout(1100)
    page.get_by_label("Code").fill(app_code(secret, steps_ahead=1))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
