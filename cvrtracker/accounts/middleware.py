import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils import timezone

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
