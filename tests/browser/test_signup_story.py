"""A seller signs up, confirms their email, logs in, corrects their name, logs out."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import path_of

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a quiet harbour at dawn 1987"


def test_a_new_seller_signs_up_and_manages_their_profile(page, mailbox):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("conversion rate")
    page.get_by_role("button", name="Start a 14-day free trial").click()

    page.get_by_label("Name").fill("Priya Seller")
    page.get_by_label("Email").fill("priya@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("I am 16 years old or older.").check()
    page.get_by_label("I have read and accept the privacy policy.").check()
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    [message] = mailbox.to("priya@example.com")
    link = re.search(r"https?://\S+", mailbox.body(message)).group(0)
    page.goto(path_of(link))
    expect(page.get_by_text("priya@example.com is confirmed")).to_be_visible()

    page.get_by_label("Email").fill("priya@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Priya's team")

    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Name").fill("Priya Shah")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Priya Shah")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
