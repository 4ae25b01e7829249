"""Deliveries: one alert on one channel, sent once, retried with backoff, never twice.

The life of a delivery:

1. `deliveries_create` stores one row per subscribed channel of the alert's rule
   (PENDING, due now) and enqueues `deliver` once the transaction commits. A
   channel that cannot receive it now gets a SKIPPED row that says why (paused,
   address not confirmed, not in the plan): the history shows it.
2. `delivery_send` (the `deliver` task) claims the row with a lease
   (`claimed_until`, `claim_token`): only the worker holding the token sends and
   marks it, so a task queued twice sends once. It checks again that the rule is
   on, the pair subscribed and the channel active (else SKIPPED), then sends.
3. On success: SENT. On a transient error: attempts + 1, `next_attempt_at` after a
   backoff (1, 5, 25 minutes … with jitter, capped), a deferred task, and the
   sweep as a safety net. On a permanent error (a 4xx other than 408/429, a
   redirect, a refused address, a recipient the mail server rejects) or after
   ALERTS_PAUSE_AFTER_FAILURES failures in a row, the channel is PAUSED, its
   waiting deliveries SKIPPED (not held: an alert days late misleads more than it
   helps; the history keeps them), and the team owner is told by email. Our own
   mail server being down is not the channel's fault: retried, never pausing it.
4. A worker killed mid-send leaves the row claimed; once the lease ends,
   `deliveries_enqueue_due` (run by the scheduler tick or `manage.py
   alerts_sweep`) enqueues it again. Receivers can de-duplicate the rare resend
   (killed after the receiver accepted, before we marked it) with the
   `X-CVR-Delivery` header or the email's Message-ID, both stable per delivery.

Who polls: the sweep reads (status, next_attempt_at), index alerts_delivery_due.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import secrets
import smtplib
import time
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from cvrtracker.accounts.models import Membership
from cvrtracker.alerts import messages, outbound
from cvrtracker.alerts.channels import (
    alert_channel_pause,
    alert_channel_secret,
    alert_channel_target,
)
from cvrtracker.alerts.models import Alert, AlertChannel, Delivery, RuleChannel
from cvrtracker.billing.limits import ALERT_CHANNEL, team_can
from cvrtracker.lib.crypto import DecryptionError

logger = logging.getLogger(__name__)

Status = Delivery.Status
ChannelStatus = AlertChannel.Status
RETRY_FACTOR = 5


class SendError(Exception):
    """A send that failed. `permanent`: retrying cannot help. `channel_fault`: it counts
    toward pausing the channel (our own mail server being down does not)."""

    def __init__(self, message: str, *, permanent: bool, channel_fault: bool = True):
        super().__init__(message)
        self.permanent = permanent
        self.channel_fault = channel_fault


# Creating ------------------------------------------------------------------------


def _not_sendable(channel: AlertChannel) -> str:
    """Why `channel` cannot receive anything now ("" when it can)."""
    if channel.status == ChannelStatus.PAUSED:
        return "Not sent: the channel is paused."
    if channel.status == ChannelStatus.UNCONFIRMED:
        return "Not sent: the address has not been confirmed yet."
    if channel.member_id is not None:
        member = Membership.objects.filter(team_id=channel.team_id, user_id=channel.member_id)
        if not member.exists():
            return "Not sent: the person is no longer a member of the team."
        if channel.member.email_verified_at is None:
            return "Not sent: the member has not confirmed their email address."
    if not team_can(channel.team, ALERT_CHANNEL, channel=channel.kind):
        return f"Not sent: {channel.get_kind_display()} alerts are not part of the plan."
    return ""


def deliveries_create(*, alert: Alert) -> list[Delivery]:
    """One Delivery per subscribed (not unsubscribed) channel of the alert's rule,
    each enqueued when the caller's transaction commits. Idempotent: calling it
    again for the same alert returns the same rows and enqueues nothing new."""
    from cvrtracker.alerts.tasks_delivery import deliver

    rule = alert.rule
    if rule is None:
        return []
    subscriptions = (
        RuleChannel.objects.filter(rule=rule, unsubscribed_at__isnull=True)
        .select_related("channel__team", "channel__member")
        .order_by("pk")
    )
    now = timezone.now()
    created = []
    for subscription in subscriptions:
        channel = subscription.channel
        reason = "Not sent: the rule is off." if not rule.enabled else _not_sendable(channel)
        delivery, new = Delivery.objects.get_or_create(
            alert=alert,
            channel=channel,
            defaults={
                "status": Status.SKIPPED if reason else Status.PENDING,
                "next_attempt_at": None if reason else now,
                "last_error": reason,
            },
        )
        created.append(delivery)
        if new and not reason:
            transaction.on_commit(lambda pk=delivery.pk: deliver.enqueue(pk))
    return created


# Sending -------------------------------------------------------------------------


def _lease() -> timedelta:
    return timedelta(seconds=settings.ALERTS_DELIVERY_LEASE_SECONDS)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after `attempts` failed tries: base × 5^(n-1), capped, ±20 % jitter."""
    base = settings.ALERTS_RETRY_BASE_SECONDS * RETRY_FACTOR ** max(0, attempts - 1)
    seconds = min(settings.ALERTS_RETRY_CAP_SECONDS, base)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter


def _claim(delivery_id: int) -> str | None:
    """Take the delivery for one send; the claim token when this caller won."""
    now = timezone.now()
    token = secrets.token_hex(16)
    won = (
        Delivery.objects.filter(pk=delivery_id, status=Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(claimed_until=now + _lease(), claim_token=token, attempts=F("attempts") + 1)
    )
    return token if won else None


def _finish(delivery: Delivery, token: str, **fields) -> bool:
    """Write the outcome if this worker still holds the claim."""
    return bool(
        Delivery.objects.filter(pk=delivery.pk, claim_token=token).update(
            claimed_until=None, claim_token="", **fields
        )
    )


def _skip_reason(delivery: Delivery) -> str:
    rule = delivery.alert.rule
    if rule is None:
        return "Not sent: the rule was deleted."
    if not rule.enabled:
        return "Not sent: the rule is off."
    subscribed = RuleChannel.objects.filter(
        rule=rule, channel=delivery.channel, unsubscribed_at__isnull=True
    ).exists()
    if not subscribed:
        return "Not sent: this alert was unsubscribed from this channel."
    return _not_sendable(delivery.channel)


def delivery_send(*, delivery_id: int) -> str:
    """Send one delivery if it is due and unclaimed; returns its status afterwards
    ("" when another worker holds it or it was already done)."""
    token = _claim(delivery_id)
    if token is None:
        return ""
    delivery = Delivery.objects.select_related(
        "alert__connection", "alert__rule", "channel__team", "channel__member"
    ).get(pk=delivery_id)
    reason = _skip_reason(delivery)
    if reason:
        _finish(delivery, token, status=Status.SKIPPED, last_error=reason, next_attempt_at=None)
        return Status.SKIPPED
    try:
        message = messages.alert_message(delivery.alert)
        channel_send(
            channel=delivery.channel,
            message=message,
            delivery_code=str(delivery.code),
            rule_code=str(delivery.alert.rule.code),
        )
    except SendError as error:
        return _failed(delivery, token, error)
    except DecryptionError:
        # The connection's key was shredded (disconnected): nothing left to tell.
        _finish(
            delivery,
            token,
            status=Status.SKIPPED,
            last_error="Not sent: the seller account was disconnected.",
            next_attempt_at=None,
        )
        return Status.SKIPPED
    if _finish(
        delivery,
        token,
        status=Status.SENT,
        sent_at=timezone.now(),
        last_error="",
        next_attempt_at=None,
    ):
        AlertChannel.objects.filter(pk=delivery.channel_id).update(consecutive_failures=0)
    logger.info("alert delivery %s sent", delivery.code)
    return Status.SENT


def _failed(delivery: Delivery, token: str, error: SendError) -> str:
    from cvrtracker.alerts.tasks_delivery import deliver

    attempts = Delivery.objects.values_list("attempts", flat=True).get(pk=delivery.pk)
    text = str(error)[:500]
    logger.warning("alert delivery %s failed (attempt %s): %s", delivery.code, attempts, text)
    failures = 0
    if error.channel_fault:
        AlertChannel.objects.filter(pk=delivery.channel_id).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        failures = AlertChannel.objects.values_list("consecutive_failures", flat=True).get(
            pk=delivery.channel_id
        )
    pause = error.permanent or failures >= settings.ALERTS_PAUSE_AFTER_FAILURES
    if pause or attempts >= settings.ALERTS_MAX_ATTEMPTS:
        _finish(delivery, token, status=Status.FAILED, last_error=text, next_attempt_at=None)
        if pause:
            why = text if error.permanent else f"{failures} deliveries failed in a row: {text}"
            alert_channel_pause(channel=delivery.channel, reason=why)
        return Status.FAILED
    when = timezone.now() + retry_delay(attempts)
    if _finish(delivery, token, last_error=text, next_attempt_at=when):
        task = deliver
        if getattr(task.get_backend(), "supports_defer", False):
            task = task.using(run_after=when)
        transaction.on_commit(lambda: task.enqueue(delivery.pk))
    return Status.PENDING


# Per channel kind ----------------------------------------------------------------


def channel_send(
    *, channel: AlertChannel, message: messages.Message, delivery_code: str, rule_code: str = ""
) -> None:
    """Send `message` on `channel` now; SendError on failure (never holds the target)."""
    try:
        target = alert_channel_target(channel)
    except DecryptionError:
        raise SendError("the channel's address cannot be read", permanent=True) from None
    if channel.kind == AlertChannel.Kind.EMAIL:
        _send_email(channel, target, message, delivery_code, rule_code)
        return
    if channel.kind == AlertChannel.Kind.WEBHOOK:
        body = messages.webhook_body(message)
        headers = {
            "Content-Type": "application/json",
            "X-CVR-Delivery": delivery_code,
            "X-CVR-Signature": webhook_signature(alert_channel_secret(channel), body),
        }
    else:
        body = messages.slack_body(message)
        headers = {"Content-Type": "application/json"}
    try:
        outbound.post(target, body=body, headers=headers)
    except outbound.OutboundError as error:
        raise SendError(str(error), permanent=error.permanent) from None


# Shown on the webhook channel's page and in the README; a test runs it as written.
WEBHOOK_VERIFY_SNIPPET = """\
import hashlib, hmac, time

def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    \"\"\"True when X-CVR-Signature `header` signs the raw request `body`.\"\"\"
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - timestamp) <= tolerance
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))
"""


def webhook_signature(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>` (the X-CVR-Signature header)."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def _message_id(delivery_code: str) -> str:
    domain = urlsplit(settings.SITE_ROOT).hostname or "localhost"
    return f"<alert-{delivery_code}@{domain}>"


def _send_email(channel, address, message, delivery_code, rule_code) -> None:
    unsubscribe = (
        messages.unsubscribe_url(rule_code=rule_code, channel_code=channel.code)
        if rule_code
        else ""
    )
    subject, text, html = messages.email_parts(message, unsubscribe=unsubscribe)
    headers = {"Message-ID": _message_id(delivery_code)}
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(subject=subject, body=text, to=[address], headers=headers)
    email.attach_alternative(html, "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        raise SendError(
            f"the mail server refused the address ({', '.join(map(str, codes))})",
            permanent=permanent,
        ) from None
    except (smtplib.SMTPException, OSError) as error:
        # Our own mail server is down or refused us: retried, not the channel's fault.
        raise SendError(
            f"the mail server could not be reached ({type(error).__name__})",
            permanent=False,
            channel_fault=False,
        ) from None


def channel_send_test(*, channel: AlertChannel) -> str:
    """Send a test message now (the send_test task); "" on success, else the error."""
    try:
        channel_send(
            channel=channel,
            message=messages.channel_test_message(channel),
            delivery_code=f"test-{secrets.token_hex(8)}",
        )
    except SendError as error:
        logger.warning("test message to alert channel %s failed: %s", channel.code, error)
        return str(error)
    return ""


# The sweep -----------------------------------------------------------------------


def deliveries_enqueue_due(*, limit: int = 500) -> int:
    """Enqueue deliveries due for ALERTS_SWEEP_DELAY_SECONDS that no worker holds: a lost
    task, a deferred retry the backend did not run, a worker killed mid-send once its
    lease ended. Safe in several schedulers at once (conditional update). Returns how many."""
    from cvrtracker.alerts.tasks_delivery import deliver

    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.ALERTS_SWEEP_DELAY_SECONDS)
    due = (
        Delivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=cutoff)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    enqueued = 0
    for pk, old in due:
        with transaction.atomic():
            # Moving next_attempt_at to now: the next sweep waits another delay for it.
            taken = Delivery.objects.filter(pk=pk, status=Status.PENDING, next_attempt_at=old)
            if taken.update(next_attempt_at=now) != 1:
                continue
            transaction.on_commit(lambda pk=pk: deliver.enqueue(pk))
        enqueued += 1
    return enqueued
