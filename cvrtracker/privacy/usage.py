"""Usage data: which pages a signed-in user visited, from which IP address and browser.

For security (spotting a session used from elsewhere) and product analytics only.
What counts as a page view (`usage_wanted`): a signed-in GET or HEAD that answers an
HTML page or a download, not a redirect and not an htmx partial (a panel, a poll);
and every other method (a form sent, an action taken). Never static files or the
health check. The path is kept without its query string, which may hold search terms.

Recording must not slow requests, so the middleware only appends a tuple to a
per-process buffer; the buffer is written with one bulk INSERT every
USAGE_FLUSH_EVENTS events or USAGE_FLUSH_SECONDS, after the response that filled it
has been sent (from the response's close(), which WSGI servers call once the last
byte is out), and at process exit. A process killed with SIGKILL loses at most the
events of its last few seconds: acceptable for analytics, and the audit trail,
written at once, keeps what security needs to prove.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from cvrtracker.audit.services import audit_context_from_request
from cvrtracker.privacy.models import UsageEvent
from cvrtracker.privacy.retention import cutoff

logger = logging.getLogger(__name__)

# Not page views: the load balancer's probe and files WhiteNoise did not already serve.
SKIPPED_PATHS = ("/healthz",)
PATH_MAX = UsageEvent._meta.get_field("path").max_length
AGENT_MAX = UsageEvent._meta.get_field("user_agent").max_length
WRITING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# (user_id, at, ip, user_agent, method, path)
Row = tuple[int, datetime, str | None, str, str, str]


class UsageBuffer:
    """The events of this process not yet written, and when it last wrote."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: list[Row] = []
        self._since = time.monotonic()

    def add(self, row: Row) -> None:
        with self._lock:
            self._rows.append(row)

    def due(self) -> bool:
        with self._lock:
            if not self._rows:
                return False
            return (
                len(self._rows) >= settings.USAGE_FLUSH_EVENTS
                or time.monotonic() - self._since >= settings.USAGE_FLUSH_SECONDS
            )

    def take(self) -> list[Row]:
        with self._lock:
            rows, self._rows = self._rows, []
            self._since = time.monotonic()
            return rows

    def __len__(self) -> int:
        return len(self._rows)


BUFFER = UsageBuffer()


def usage_wanted(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether this request is a page view worth recording (see the module's docstring)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    path = request.path_info
    if path in SKIPPED_PATHS or path.startswith(settings.STATIC_URL):
        return False
    if request.method in WRITING_METHODS:
        return True
    if request.method not in ("GET", "HEAD") or "HX-Request" in request.headers:
        return False
    if 300 <= response.status_code < 400:
        return False
    content_type = response.get("Content-Type", "")
    download = response.get("Content-Disposition", "").startswith("attachment")
    return content_type.startswith("text/html") or download


def usage_note(*, request: HttpRequest, now: datetime) -> None:
    """Put one request in the buffer (no database access)."""
    context = audit_context_from_request(request)
    path = "".join(c for c in request.path_info if c.isprintable())[:PATH_MAX]
    BUFFER.add(
        (
            request.user.pk,
            now,
            context.ip,
            context.user_agent[:AGENT_MAX],
            request.method[:8],
            path,
        )
    )


def usage_flush() -> int:
    """Write every buffered event in one INSERT; returns how many were written.

    Events of a user deleted since (an account purged meanwhile) are dropped, so one
    of them cannot make the whole batch fail."""
    rows = BUFFER.take()
    if not rows:
        return 0
    users = {row[0] for row in rows}
    alive = set(get_user_model().objects.filter(pk__in=users).values_list("pk", flat=True))
    events = [
        UsageEvent(user_id=user, at=at, ip=ip, user_agent=agent, method=method, path=path)
        for user, at, ip, agent, method, path in rows
        if user in alive
    ]
    try:
        UsageEvent.objects.bulk_create(events)
    except DatabaseError:
        # Usage data is not worth a failed page; the log says what was lost.
        logger.exception("Could not write %d usage events", len(events))
        return 0
    return len(events)


def usage_discard() -> None:
    """Forget the buffered events (tests: each starts with an empty buffer)."""
    BUFFER.take()


def usage_events_for_user(*, user):
    """The user's own usage events, newest first (nobody else's: not even a teammate's)."""
    return UsageEvent.objects.filter(user=user).order_by("-at", "-id")


def usage_purge_expired(*, now: datetime) -> int:
    """Delete usage events older than USAGE_RETENTION_DAYS; returns how many."""
    before = cutoff(now, settings.USAGE_RETENTION_DAYS)
    return UsageEvent.objects.filter(at__lt=before).delete()[0]


def _flush_at_exit() -> None:
    try:
        usage_flush()
    except Exception:  # noqa: BLE001 - the process is ending; the log says why
        logger.exception("Could not write the usage events at exit")


atexit.register(_flush_at_exit)


class UsageMiddleware:
    """Record signed-in page views (privacy.UsageEvent), in batches.

    The user is read after the view, so a log-in is recorded and a log-out is not.
    A due buffer is written from the response's close(), after the response is sent
    and before Django closes the request's database connection."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if usage_wanted(request, response):
            usage_note(request=request, now=timezone.now())
            if BUFFER.due():
                # Run by HttpResponse.close() (Django's own closers list: it holds
                # FileResponse's file too), before the request_finished signal.
                response._resource_closers.append(usage_flush)
        return response
