"""A NUL character answers 400 wherever it comes in; responses to a signed-in user are
not stored by browsers or proxies unless their view says why they may be."""

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DataError, connection
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from cvrtracker.lib.middleware import NoStoreMiddleware, RejectNulMiddleware, cacheable
from cvrtracker.test import PASSWORD, BaseTestCase

WITHOUT_NUL_GUARD = [m for m in settings.MIDDLEWARE if not m.endswith(".RejectNulMiddleware")]


class RejectNulTestCase(BaseTestCase):
    def test_a_nul_in_the_login_email_answers_400(self):
        response = self.client.post(
            reverse("accounts:login"), {"username": "alice\x00@example.org", "password": "x"}
        )
        assert response.status_code == 400
        assert b"NUL" in response.content

    def test_without_the_guard_postgresql_fails_on_it(self):
        # The control: the bug this guards against. SQLite looks the NUL up and answers.
        # (The log-in email no longer reaches the database as text since issue 15: it is
        # looked up by its blind index. The session cookie still is.)
        login = reverse("accounts:login")
        cookie = f"{settings.SESSION_COOKIE_NAME}=abcdefgh\x00ijklmnopqrstuvwxyz0123"
        assert Client().get(login, HTTP_COOKIE=cookie).status_code == 400  # guarded
        with override_settings(MIDDLEWARE=WITHOUT_NUL_GUARD):
            unguarded = Client()  # a client loads its middleware on its first request
            if connection.vendor == "postgresql":
                with pytest.raises(DataError):
                    unguarded.get(login, HTTP_COOKIE=cookie)
            else:
                assert unguarded.get(login, HTTP_COOKIE=cookie).status_code == 200

    def test_a_nul_in_a_query_parameter_answers_400(self):
        self.client.force_login(self.alice)
        assert self.client.get("/amazon/changes/", {"asin": "B0\x00"}).status_code == 400
        assert self.client.get("/amazon/changes/", {"as\x00in": "B0"}).status_code == 400

    def test_a_nul_in_a_form_value_answers_400(self):
        self.client.force_login(self.alice)
        response = self.client.post(reverse("accounts:profile"), {"name": "Al\x00ice"})
        assert response.status_code == 400
        self.alice.refresh_from_db()
        assert self.alice.name == "Alice"

    def test_a_nul_in_a_cookie_a_header_or_the_path_answers_400(self):
        self.client.cookies["sessionid"] = "\x00" * 32
        assert self.client.get("/").status_code == 400
        self.client.cookies.clear()
        assert self.client.get("/", headers={"user-agent": "x\x00"}).status_code == 400
        assert self.client.get("/privacy/\x00").status_code == 400

    def test_the_api_answers_a_json_400(self):
        response = self.client.get("/api/v1/connections", {"x": "\x00"})
        assert response.status_code == 400
        assert "NUL" in response.json()["error"]

    def test_other_control_characters_pass(self):
        # PostgreSQL stores every other character; the forms judge them.
        response = self.client.post(
            reverse("accounts:login"), {"username": "alice\x01\x1b@example.org", "password": "x"}
        )
        assert response.status_code == 200

    def test_an_ordinary_login_still_works(self):
        response = self.client.post(
            reverse("accounts:login"), {"username": "alice@example.org", "password": PASSWORD}
        )
        assert response.status_code == 302


def respond(request):
    return HttpResponse("data", headers={"Cache-Control": "private, max-age=60"})


class NoStoreTestCase(BaseTestCase):
    def run_middleware(self, view, *, user=None, headers=None):
        request = RequestFactory().get("/", headers=headers or {})
        request.user = user or AnonymousUser()
        middleware = NoStoreMiddleware(lambda r: view(r))
        middleware.process_view(request, view, (), {})
        return middleware(request)

    def test_a_signed_in_users_response_is_not_stored(self):
        response = self.run_middleware(respond, user=self.alice)
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]

    def test_an_api_keys_response_is_not_stored(self):
        response = self.run_middleware(respond, headers={"authorization": "Bearer x"})
        assert "no-store" in response["Cache-Control"]

    def test_an_anonymous_page_keeps_its_own_caching(self):
        # The control: the middleware does tell the two apart.
        response = self.run_middleware(respond)
        assert response["Cache-Control"] == "private, max-age=60"

    def test_a_view_that_says_why_keeps_its_caching(self):
        @cacheable(reason="a public picture")
        def view(request):
            return respond(request)

        response = self.run_middleware(view, user=self.alice)
        assert response["Cache-Control"] == "private, max-age=60"

    def test_a_reason_is_required(self):
        with pytest.raises(ValueError):
            cacheable(reason=" ")


def test_the_guards_are_installed():
    names = settings.MIDDLEWARE
    assert names.index(f"{RejectNulMiddleware.__module__}.RejectNulMiddleware") < names.index(
        "django.contrib.sessions.middleware.SessionMiddleware"
    )
    assert names.index(f"{NoStoreMiddleware.__module__}.NoStoreMiddleware") > names.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )


class RawBodyTestCase(BaseTestCase):
    def test_a_view_can_still_read_the_raw_body_of_a_form_post(self):
        # The guard reads form posts; the Stripe webhook reads request.body after it
        # (before the fix, a multipart post there raised RawPostDataException: a 500).
        response = self.client.post(reverse("billing:webhook"), {"a": "b"})
        assert response.status_code < 500
