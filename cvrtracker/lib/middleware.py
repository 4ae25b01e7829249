"""Site-wide request and response rules that no single view should have to remember.

- `RejectNulMiddleware`: a NUL character anywhere a view, a form or the session could
  take it to the database answers 400. PostgreSQL text cannot hold U+0000, so a lookup
  with one raises DataError (a 500) where SQLite quietly answers; checking once here
  covers every form field, query parameter and cookie, present and future.
- `NoStoreMiddleware`: every response to a logged-in user or an API key is
  `Cache-Control: private, no-store` (Amazon's Data Protection Policy and ASVS 8.2.1:
  a browser or proxy must not keep a copy of a seller's data), unless its view says
  why it may be kept, with `@cacheable(reason=...)`.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.cache import patch_cache_control

NUL = "\x00"
API_PREFIX = "/api/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _texts(request: HttpRequest):
    yield request.path_info
    forms = [request.GET]
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.content_type in FORM_TYPES:
        # Read the body first: the form is then parsed from that copy, and a view that
        # wants the raw body (a signed webhook) can still have it.
        request.body  # noqa: B018
        forms.append(request.POST)
    for form in forms:
        for key, values in form.lists():
            yield key
            yield from values
    for key, value in request.COOKIES.items():
        yield key
        yield value
    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str):
            yield value


def request_has_nul(request: HttpRequest) -> bool:
    """True when the path, a query or form key or value, a cookie or a header holds NUL."""
    return any(NUL in text for text in _texts(request))


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request_has_nul(request):
            message = "The request holds a NUL character, which no field accepts."
            if request.path_info.startswith(API_PREFIX):
                response = JsonResponse({"error": message}, status=400)
            else:
                response = HttpResponseBadRequest(message, content_type="text/plain")
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)


def cacheable(*, reason: str):
    """Let a view's responses be cached as the view sets them, for the reason given
    (it must show no Amazon data, or only data the browser may keep)."""
    if not reason.strip():
        raise ValueError("cacheable() needs a reason")

    def decorate(view):
        view.cacheable_reason = reason
        return view

    return decorate


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "cacheable_reason", None):
            return response
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or "HTTP_AUTHORIZATION" in request.META:
            patch_cache_control(response, private=True, no_store=True)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        request.cacheable_reason = getattr(view_func, "cacheable_reason", None)
