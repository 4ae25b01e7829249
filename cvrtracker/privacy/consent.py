"""Cookie consent: essential cookies only, unless the visitor opts in to analytics.

Analytics exist only when the operator sets ANALYTICS_SCRIPT_URL. Then a banner asks
each visitor once; the answer is kept in an essential first-party cookie
(`cvr_consent`: "analytics" or "essential", a year). The script's <script> tag is
rendered, and its origin added to the page's Content-Security-Policy, only in
responses to a visitor whose cookie says "analytics": before that, the browser is
never told the script exists. Choosing "essential" later also expires the
non-essential cookies the browser sent us (what the script set on our site).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE = "cvr_consent"
ANALYTICS = "analytics"
ESSENTIAL = "essential"
CHOICES = (ANALYTICS, ESSENTIAL)
COOKIE_AGE = timedelta(days=365)


def essential_cookies() -> set[str]:
    """The cookies the site needs to work, which need no consent."""
    return {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, "messages", COOKIE}


def consent_choice(request: HttpRequest) -> str | None:
    """The visitor's recorded choice, or None before they made one."""
    value = request.COOKIES.get(COOKIE)
    return value if value in CHOICES else None


def analytics_allowed(request: HttpRequest) -> bool:
    """Whether this response may load the analytics script."""
    return bool(settings.ANALYTICS_SCRIPT_URL) and consent_choice(request) == ANALYTICS


def banner_wanted(request: HttpRequest) -> bool:
    """Whether to ask: there are analytics to consent to and no choice yet."""
    return bool(settings.ANALYTICS_SCRIPT_URL) and consent_choice(request) is None


def analytics_origin() -> str:
    """The scheme://host[:port] of ANALYTICS_SCRIPT_URL, for the CSP."""
    parts = urlsplit(settings.ANALYTICS_SCRIPT_URL)
    return f"{parts.scheme}://{parts.netloc}"


def consent_set(*, request: HttpRequest, response: HttpResponse, choice: str) -> None:
    """Store `choice` in the consent cookie; withdrawing expires the other cookies."""
    if choice not in CHOICES:
        raise ValueError(f"unknown consent choice {choice!r}")
    response.set_cookie(
        COOKIE,
        choice,
        max_age=int(COOKIE_AGE.total_seconds()),
        samesite="Lax",
        secure=settings.SECURE,
        httponly=True,
    )
    if choice == ESSENTIAL:
        for name in set(request.COOKIES) - essential_cookies():
            response.delete_cookie(name, samesite="Lax")


class ConsentMiddleware:
    """Allow the analytics script's origin in the CSP of opted-in HTML responses only."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if analytics_allowed(request) and response.get("Content-Type", "").startswith("text/html"):
            # A view's own policy (csp_override) wins over the site's; an empty one means none.
            config = getattr(response, "_csp_config", settings.SECURE_CSP)
            if config:
                origin = analytics_origin()
                config = dict(config)
                for directive in ("script-src", "connect-src"):
                    config[directive] = [*config.get(directive, []), origin]
                # The attribute Django's csp_override() decorator sets.
                response._csp_config = config
        return response
