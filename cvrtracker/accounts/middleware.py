import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from cvrtracker.accounts.mfa import mfa_session_state
from cvrtracker.accounts.models import UserSession
from cvrtracker.accounts.services import user_session_forget

AUTH_AT = "auth_at"
LAST_SEEN = "last_seen"
# Writing the session on every request would cost a database write per page;
# a minute's resolution is plenty for an idle limit measured in hours.
TOUCH_EVERY = 60


class SessionTimeoutMiddleware:
    """End a logged-in session after an idle period and after an absolute lifetime."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            auth_at = request.session.get(AUTH_AT, now)
            last_seen = request.session.get(LAST_SEEN, now)
            idle = now - last_seen > settings.SESSION_IDLE_TIMEOUT
            expired = now - auth_at > settings.SESSION_ABSOLUTE_TIMEOUT
            if idle or expired:
                user_session_forget(session_key=request.session.session_key)
                logout(request)
                messages.info(request, "Your session ended. Please log in again.")
            else:
                request.session.setdefault(AUTH_AT, now)
                if now - last_seen >= TOUCH_EVERY or LAST_SEEN not in request.session:
                    request.session[LAST_SEEN] = now
                    UserSession.objects.filter(session_key=request.session.session_key).update(
                        last_seen_at=timezone.now()
                    )
        return self.get_response(request)


class MFARequiredMiddleware:
    """Hold back a logged-in user who must use two-factor log-in and has not.

    Staff always, members when their team's owner requires it: without an
    authenticator they are sent to set one up (and may only log out meanwhile);
    a session that has not passed the second factor although the user now has
    one (one that started before it was set up) is ended.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified():
            required, enabled = mfa_session_state(user=user)
            if enabled:
                user_session_forget(session_key=request.session.session_key)
                logout(request)
                messages.info(request, "Please log in again with your two-factor code.")
                return redirect_to_login(request.get_full_path())
            if required and request.path not in _setup_paths():
                messages.info(request, "Your team requires two-factor log-in: please set it up.")
                return redirect("accounts:mfa_setup")
        return self.get_response(request)


def _setup_paths() -> set[str]:
    # What a user held back may still reach: the set-up page and the way out.
    return {reverse("accounts:mfa_setup"), reverse("accounts:logout")}
