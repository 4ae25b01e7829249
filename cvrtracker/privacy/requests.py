"""Privacy rights requests and support requests: recorded, confirmed, answered by staff.

Anyone may write through the public forms (privacy:rights, privacy:support); a
signed-in user's request is linked to them. Each is stored, confirmed by email to
the sender and announced to SUPPORT_EMAIL; staff answer from their pages
(privacy/staff.py), and the answer is emailed. A rights request is due
RIGHTS_REQUEST_DUE_DAYS after it was made (45 under the CCPA).

The public forms are throttled per IP address (PUBLIC_FORM_LIMIT_PER_HOUR, counted in
the cache) and carry a honeypot field, so that a bot cannot fill our table or use us
to send mail.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import SYSTEM, AuditContext, audit_record
from cvrtracker.lib.emails import email_send
from cvrtracker.lib.fields import blind_indexes
from cvrtracker.privacy.models import RightsRequest, SupportRequest
from cvrtracker.privacy.retention import cutoff

logger = logging.getLogger(__name__)

DONE = (RightsRequest.Status.ANSWERED, RightsRequest.Status.CLOSED)
THROTTLE_WINDOW = 3600


class TooManyRequests(Exception):
    """This IP address sent more public-form messages than PUBLIC_FORM_LIMIT_PER_HOUR."""


def public_form_throttle(*, ip: str | None, now: datetime | None = None) -> None:
    """Count one message from `ip` in this hour; raise TooManyRequests over the limit."""
    now = now or timezone.now()
    window = int(now.timestamp()) // THROTTLE_WINDOW
    # Keyed by the address's keyed HMAC: the cache (Redis) holds no IP address either.
    who = blind_indexes("ip", ip)[0] if ip else "unknown"
    key = f"privacy:public-form:{who}:{window}"
    cache.add(key, 0, timeout=THROTTLE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add() and incr()
        cache.set(key, 1, timeout=THROTTLE_WINDOW)
        count = 1
    if count > settings.PUBLIC_FORM_LIMIT_PER_HOUR:
        raise TooManyRequests(ip)


def _email(*, to: str, template: str, context: dict) -> None:
    # The request is stored before any mail goes: a mail server that is down must not
    # lose it (staff see it on their page), so a failure is logged, not raised.
    try:
        email_send(to=to, template=template, context=context)
    except (smtplib.SMTPException, OSError):
        logger.exception("Could not send the %s email", template)


def _staff_link(name: str, code) -> str:
    return settings.SITE_ROOT + reverse(name, kwargs={"code": code})


def rights_request_create(
    *,
    kind: str,
    name: str,
    email: str,
    california_resident: bool,
    details: str,
    user=None,
    context: AuditContext = SYSTEM,
) -> RightsRequest:
    """Record a rights request, due in RIGHTS_REQUEST_DUE_DAYS; confirm it to the sender,
    tell SUPPORT_EMAIL, and audit it when a signed-in user made it."""
    now = timezone.now()
    rights_request = RightsRequest.objects.create(
        kind=kind,
        user=user,
        name=name,
        email=email,
        california_resident=california_resident,
        details=details,
        created_at=now,
        due_at=now + timedelta(days=settings.RIGHTS_REQUEST_DUE_DAYS),
    )
    if user is not None:
        audit_record(
            action=AuditEntry.Action.RIGHTS_REQUEST_MADE,
            context=context,
            actor=user,
            target=rights_request,
            detail=kind,
        )
    mail = {"rights_request": rights_request}
    _email(to=email, template="rights-request-received", context=mail)
    _email(
        to=settings.SUPPORT_EMAIL,
        template="rights-request-staff",
        context={**mail, "link": _staff_link("privacy:staff_request", rights_request.code)},
    )
    return rights_request


def support_request_create(
    *, name: str, email: str, subject: str, message: str, user=None
) -> SupportRequest:
    """Record a support request; confirm it to the sender and send it to SUPPORT_EMAIL."""
    support_request = SupportRequest.objects.create(
        user=user, name=name, email=email, subject=subject, message=message
    )
    mail = {"support_request": support_request}
    _email(to=email, template="support-request-received", context=mail)
    _email(
        to=settings.SUPPORT_EMAIL,
        template="support-request-staff",
        context={**mail, "link": _staff_link("privacy:staff_support", support_request.code)},
    )
    return support_request


def request_answer(
    *, item: RightsRequest | SupportRequest, answer: str, status: str, actor
) -> None:
    """Staff answer a rights or support request: store the answer and its status
    (answered or closed) and email it to the requester."""
    if status not in DONE:
        raise ValueError(f"an answer leaves the request answered or closed, not {status!r}")
    item.answer = answer
    item.status = status
    item.answered_at = timezone.now()
    item.answered_by = actor
    item.save(update_fields=["answer", "status", "answered_at", "answered_by"])
    _email(to=item.email, template="request-answer", context={"item": item})


def rights_requests_for_user(*, user):
    """The rights requests this user made while signed in, newest first."""
    return RightsRequest.objects.filter(user=user).order_by("-created_at")


def _open_first(queryset, *then: str):
    rank = Case(
        When(status=RightsRequest.Status.OPEN, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return queryset.annotate(open_rank=rank).order_by("open_rank", *then)


def requests_for_staff() -> tuple:
    """(rights requests, support requests): open ones first, the earliest due first."""
    rights = _open_first(RightsRequest.objects.all(), "due_at")
    support = _open_first(SupportRequest.objects.all(), "created_at")
    return rights, support


def _finished_before(before: datetime) -> Q:
    answered = Q(answered_at__lt=before)
    # A request closed without an answer time counts from when it was made.
    unanswered = Q(answered_at__isnull=True, created_at__lt=before)
    return Q(status__in=DONE) & (answered | unanswered)


def requests_purge_expired(*, now: datetime) -> int:
    """Delete rights requests finished over RIGHTS_REQUEST_RETENTION_DAYS ago and support
    requests finished over SUPPORT_RETENTION_DAYS ago; open ones stay. Returns rows."""
    rights = RightsRequest.objects.filter(
        _finished_before(cutoff(now, settings.RIGHTS_REQUEST_RETENTION_DAYS))
    )
    support = SupportRequest.objects.filter(
        _finished_before(cutoff(now, settings.SUPPORT_RETENTION_DAYS))
    )
    return rights.delete()[0] + support.delete()[0]
