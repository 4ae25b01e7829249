"""What every API endpoint does before its own work, in this order:

1. authenticate the bearer key (401 otherwise, with `WWW-Authenticate: Bearer`);
2. allow GET only (405): the API reads, it never changes anything;
3. take a token from the key's rate-limit bucket (429 with `Retry-After`);
4. ask the plan (403 with the plan's message and the billing page's address).

Session cookies play no part: a browser logged in to the site gets 401 like
anyone else without a key, so no page of another site can ride on a session
(and CSRF checks have nothing to protect).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

import msgspec
from django import forms
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from cvrtracker.api.models import ApiKey
from cvrtracker.api.ratelimit import api_key_throttle
from cvrtracker.api.schemas import ENCODER
from cvrtracker.api.services import api_key_authenticate
from cvrtracker.billing.limits import API, team_can

REALM = 'Bearer realm="CVR Tracker API"'

ApiView = Callable[..., msgspec.Struct]


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document (openapi.py) says of an endpoint: the Struct its
    200 answer is encoded from, and the form that validates its query."""

    answer: type[msgspec.Struct]
    query: type[forms.Form] | None
    summary: str
    description: str


def error(status: int, message: str, **extra) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    response["Cache-Control"] = "no-store"
    return response


class InvalidQuery(Exception):
    """Raised by an endpoint for a 400 that names the parameters at fault."""

    def __init__(self, message: str, *, fields: dict[str, list[str]]):
        super().__init__(message)
        self.message = message
        self.fields = fields


def _bearer_token(request: HttpRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(*, presented: bool) -> JsonResponse:
    if presented:
        response = error(401, "This API key is not valid: it is unknown or has been revoked.")
        response["WWW-Authenticate"] = f'{REALM}, error="invalid_token"'
    else:
        response = error(
            401, "Authenticate with an API key: send the header Authorization: Bearer <key>."
        )
        response["WWW-Authenticate"] = REALM
    return response


def api_view(
    *, answer: type[msgspec.Struct], query: type[forms.Form] | None = None
) -> Callable[[ApiView], Callable[..., HttpResponse]]:
    """Wrap `view(request, key, **kwargs)`, which returns an `answer` Struct; it runs only
    for a live key of a team whose plan includes the API, within the key's rate limit.
    The Http404 and InvalidQuery it raises are answered as JSON 404 and 400.
    `answer` and `query` (the form validating the query string) are what the OpenAPI
    document describes; the docstring's first line is the operation's summary."""

    def decorate(view: ApiView) -> Callable[..., HttpResponse]:
        summary, _, description = inspect.cleandoc(view.__doc__ or "").partition("\n")

        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs) -> HttpResponse:
            # Whoever the session cookie names, the API acts only as the key.
            request.user = AnonymousUser()
            token = _bearer_token(request)
            key: ApiKey | None = api_key_authenticate(token=token) if token else None
            if key is None:
                return _unauthorized(presented=token is not None)
            if request.method not in ("GET", "HEAD"):
                response = error(405, "The API is read-only: use GET.")
                response["Allow"] = "GET, HEAD"
                return response
            wait = api_key_throttle(key=key)
            if wait:
                response = error(
                    429, f"Too many requests with this API key: try again in {wait} s."
                )
                response["Retry-After"] = str(wait)
                return response
            decision = team_can(key.team, API)
            if not decision:
                return error(
                    403, decision.message, upgrade_url=settings.SITE_ROOT + decision.upgrade_url
                )
            try:
                body = view(request, key, **kwargs)
            except Http404:
                return error(404, "Not found.")
            except InvalidQuery as invalid:
                return error(400, invalid.message, fields=invalid.fields)
            assert isinstance(body, answer), f"{view.__name__} must answer {answer.__name__}"
            response = HttpResponse(ENCODER.encode(body), content_type="application/json")
            response["Cache-Control"] = "no-store"
            return response

        wrapper.operation = Operation(  # type: ignore[attr-defined]
            answer=answer, query=query, summary=summary.strip(), description=description.strip()
        )
        return wrapper

    return decorate
