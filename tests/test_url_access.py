"""Every URL either is on the public list, answers 401 without an API key, or sends
an anonymous visitor to log in.

New views are covered automatically: a view that forgets `login_required`
fails here, and so does a public one that nobody added to the list on purpose.
"""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Reachable without logging in, on purpose.
PUBLIC = {
    "front:index",
    "front:privacy",
    "front:healthz",
    "accounts:signup",
    "accounts:signup_done",
    "accounts:verify_email",
    "accounts:login",
    "accounts:logout",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:invitation",
    "billing:webhook",  # Stripe calls it; the signature is its authentication
    "api:openapi",  # the API's description: no data, read by tools before they have a key
    "alerts:unsubscribe",  # RFC 8058 one-click: the signed token is the authority
    "alerts:channel_confirm",  # an outside address confirms with its signed link
    "privacy:account_deleted",  # where a just-deleted (and logged-out) account lands
    "privacy:cookies",  # the cookie choice, for every visitor
    "privacy:rights",  # privacy rights requests, from anyone (throttled per IP)
    "privacy:support",  # the contact form, from anyone (throttled per IP)
}
# The JSON API authenticates with a bearer key, never with the session.
BEARER = {
    "api:connections",
    "api:products",
    "api:product_series",
    "api:account_series",
    "api:changes",
}


def named_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from named_patterns(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry


def sample_kwargs(pattern: URLPattern) -> dict:
    kwargs = {}
    for name, converter in pattern.pattern.converters.items():
        kind = type(converter).__name__
        kwargs[name] = (
            uuid.uuid4() if kind == "UUIDConverter" else (1 if kind == "IntConverter" else "x")
        )
    return kwargs


PRIVATE = sorted((name, p) for name, p in named_patterns() if name not in PUBLIC | BEARER)
API = sorted((name, p) for name, p in named_patterns() if name in BEARER)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "pattern"), PRIVATE, ids=[name for name, _ in PRIVATE])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitors_are_sent_to_log_in(client, name, pattern, method):
    url = reverse(name, kwargs=sample_kwargs(pattern))
    response = getattr(client, method)(url)
    assert response.status_code == 302, f"{method.upper()} {url} answered {response.status_code}"
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "pattern"), API, ids=[name for name, _ in API])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_api_calls_are_refused(client, name, pattern, method):
    url = reverse(name, kwargs=sample_kwargs(pattern))
    response = getattr(client, method)(url)
    assert response.status_code == 401, f"{method.upper()} {url} answered {response.status_code}"
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert "error" in response.json()


def test_the_public_list_names_only_existing_views():
    names = {name for name, _ in named_patterns()}
    assert names >= PUBLIC
    assert names >= BEARER
