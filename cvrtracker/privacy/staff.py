"""Who may answer privacy rights and support requests: staff, with a second factor.

The one place in the privacy app that reads the staff flag (tests/test_staff_access.py
lists it). It opens the staff pages of views/staff.py, which read rights and support
requests only: nothing here or there touches a seller's Amazon data.

MFARequiredMiddleware already holds back staff without a verified second factor
(they are sent to set one up, or logged out); the check below repeats it, so that
these pages stay closed even if that middleware were ever reordered or removed.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404


def staff_user(user) -> bool:
    """Whether `user` is staff and passed the second factor in this session."""
    return bool(user.is_authenticated and user.is_staff and user.is_verified())


def staff_only(view):
    """Log-in first; then staff with a verified second factor, a 404 for everyone else."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not staff_user(request.user):
            raise Http404("Not staff")
        return view(request, *args, **kwargs)

    return wrapped
