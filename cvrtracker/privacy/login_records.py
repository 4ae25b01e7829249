"""What django-axes (log-in throttling) keeps of a log-in attempt: nothing personal in
plaintext (issue 15).

Axes counts failures per email address and IP address pair. It is given, instead of
either, a keyed HMAC (lib/fields.py's blind index, under a key derived from the master
key), so it still counts and locks out by the same pair, while its tables hold no
address: the username column holds the email's blind index (purpose "email"), and the
IP column an IPv6 address made of the IP's HMAC (the column is an IP address type on
PostgreSQL) in the unique-local range fd00::/8, which no client has. The browser is not
kept at all (User-Agent and Accept headers), nor the query string (get_data), and what
axes copies of the form (post_data) has the email, the password and the two-factor code
masked (AXES_SENSITIVE_PARAMETERS). Axes' log of
successful log-ins is off (AXES_DISABLE_ACCESS_LOG): the sessions list and the audit
trail, both encrypted, say who logged in from where.

A master-key rotation changes the HMAC key, so failures counted before it are
forgotten: a lock-out ends early, once.
"""

from __future__ import annotations

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import IPWARE_INSTALLED
from django.conf import settings
from django.db.models import Q
from django.http import QueryDict

from cvrtracker.lib.fields import blind_indexes

# The blind index purpose shared with every other email address column.
EMAIL_PURPOSE = "email"


def axes_username(request, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the blind index of the email typed at log-in."""
    field = settings.AXES_USERNAME_FORM_FIELD
    email = (credentials or {}).get(field) if credentials else None
    if email is None and request is not None:
        email = getattr(request, "data", request.POST).get(field)
    if not email:
        return None
    return blind_indexes(EMAIL_PURPOSE, str(email))[0]


def axes_usernames(email: str) -> list[str]:
    """What axes' username column holds for `email`, under every configured key."""
    return blind_indexes(EMAIL_PURPOSE, email)


def pseudonymous_ip(ip: str) -> str:
    """The IPv6 address in fd00::/8 that stands for `ip` in axes' tables: made of the
    IP's blind index (purpose "ip"), under the current key."""
    digest = bytes.fromhex(blind_indexes("ip", ip)[0])
    return str(ipaddress.IPv6Address(b"\xfd" + digest[:15]))


def axes_client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the client's IP address, as axes would find it itself
    (django-ipware if installed, REMOTE_ADDR otherwise), made pseudonymous."""
    if IPWARE_INSTALLED:  # pragma: no cover - not installed here
        from axes.helpers import ipware

        ip, _ = ipware.ip.get_client_ip(
            request,
            proxy_order=settings.AXES_IPWARE_PROXY_ORDER,
            proxy_count=settings.AXES_IPWARE_PROXY_COUNT,
            proxy_trusted_ips=settings.AXES_IPWARE_PROXY_TRUSTED_IPS,
            request_header_order=settings.AXES_IPWARE_META_PRECEDENCE_ORDER,
        )
    else:
        ip = request.META.get("REMOTE_ADDR")
    return pseudonymous_ip(ip) if ip else None


def login_records_of(email: str) -> Q:
    """Axes rows of attempts made with `email` (for the purge of a deleted account)."""
    return Q(username__in=axes_usernames(email))


class AxesHandler(AxesDatabaseHandler):
    """AXES_HANDLER: django-axes' database handler, without the browser (axes keeps its
    User-Agent and Accept headers and the query string in every row, and offers no
    setting to leave them out)."""

    @staticmethod
    def _forget_browser(request) -> None:
        if request is not None:
            request.axes_user_agent = ""
            request.axes_http_accept = ""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        self._forget_browser(request)
        if request is None:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        # The query string (get_data) is copied from request.GET: hide it for the
        # handler's time only; the view still sees it (its `next`) afterwards.
        query = request.GET
        request.GET = QueryDict()
        try:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        finally:
            request.GET = query

    def user_logged_in(self, sender, request, user, **kwargs):
        self._forget_browser(request)
        return super().user_logged_in(sender, request, user, **kwargs)

    def user_logged_out(self, sender, request, user, **kwargs):
        self._forget_browser(request)
        return super().user_logged_out(sender, request, user, **kwargs)
