"""Alert channels: where a team's alerts go (an email address, a webhook, Slack).

A channel's address or URL and a webhook's signing secret are encrypted under the
channel's own data key (models docstring). An email channel to a team member
keeps no address: it sends to the member's confirmed address of the day. Any
other address must confirm first (a signed link); until then it receives
nothing but that link.

The webhook signing secret is generated here and can be read again on the
channel's page by any member of the team (alert_channel_secret): receivers are
set up by people who may need it twice, and rotating it is deleting and adding
the channel.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cvrtracker.accounts.models import Membership, User
from cvrtracker.alerts import outbound
from cvrtracker.alerts.models import AlertChannel, Delivery
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import audit_record
from cvrtracker.billing.limits import ALERT_CHANNEL, team_require, team_require_writable
from cvrtracker.lib.crypto import DataKey, key_provider, new_data_key
from cvrtracker.lib.emails import email_send

CONFIRM_SALT = "cvrt.alerts.confirm"
Kind = AlertChannel.Kind
Status = AlertChannel.Status


class TokenInvalid(Exception):
    """A confirmation or unsubscribe link that is malformed, expired or for a removed channel."""


def channel_key(channel: AlertChannel) -> DataKey:
    return DataKey.unwrap(channel.wrapped_key, context=channel.context())


def alert_channel_target(channel: AlertChannel) -> str:
    """Where the channel sends now: the member's address, or the decrypted address/URL."""
    if channel.member_id is not None:
        return channel.member.email
    if not channel.target_enc:
        return ""
    return channel_key(channel).decrypt_str(channel.target_enc, aad=channel.aad("target"))


def alert_channel_secret(channel: AlertChannel) -> str:
    """A webhook's signing secret ("" for other kinds)."""
    if not channel.secret_enc:
        return ""
    return channel_key(channel).decrypt_str(channel.secret_enc, aad=channel.aad("secret"))


def _team_of(user: User):
    membership = Membership.objects.select_related("team").get(user=user)
    return membership.team


def _clean_target(*, team, kind: str, target: str, member: User | None) -> tuple[str, User | None]:
    """The target to store ("" for a member) and the member, or ValidationError."""
    target = (target or "").strip()
    if kind == Kind.EMAIL:
        if member is not None:
            if not Membership.objects.filter(team=team, user=member).exists():
                raise ValidationError({"member": "Choose a member of your team."})
            return "", member
        if not target:
            raise ValidationError({"target": "Enter an email address or choose a member."})
        try:
            validate_email(target)
        except ValidationError:
            raise ValidationError({"target": "Enter a valid email address."}) from None
        # A member's own confirmed address needs no confirmation: it is theirs.
        owner = User.objects.filter(
            email__iexact=target, membership__team=team, email_verified_at__isnull=False
        ).first()
        if owner is not None:
            return "", owner
        return target, None
    if member is not None:
        raise ValidationError({"member": "Only email channels go to a member."})
    if not target:
        raise ValidationError({"target": "Enter the URL to post to."})
    try:
        outbound.validate_url_shape(target)
    except outbound.TargetRefused as error:
        raise ValidationError({"target": f"This URL cannot be used: {error}."}) from None
    if kind == Kind.SLACK and outbound._allowance() is False:
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        if parts.hostname != "hooks.slack.com" or not parts.path.startswith("/services/"):
            raise ValidationError(
                {
                    "target": "Enter a Slack incoming webhook URL (https://hooks.slack.com/services/…)."
                }
            )
    return target, None


def _seal(channel: AlertChannel, key: DataKey, *, target: str, secret: str | None) -> None:
    channel.target_enc = key.encrypt_str(target, aad=channel.aad("target")) if target else None
    if secret is not None:
        channel.secret_enc = key.encrypt_str(secret, aad=channel.aad("secret"))


def alert_channel_create(
    *,
    user: User,
    kind: str,
    name: str,
    target: str = "",
    member: User | None = None,
    request=None,
) -> AlertChannel:
    """Add a channel to the user's team. Raises ValidationError for bad input and
    PlanLimitError when the plan has no such channel. A non-member email address
    starts UNCONFIRMED and gets a confirmation link."""
    team = _team_of(user)
    if kind not in Kind.values:
        raise ValidationError({"kind": "Choose email, webhook or Slack."})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the channel a name."})
    if len(name) > 100:
        raise ValidationError({"name": "Keep the name under 100 characters."})
    team_require(team, ALERT_CHANNEL, channel=kind)
    target, member = _clean_target(team=team, kind=kind, target=target, member=member)
    channel = AlertChannel(team=team, kind=kind, name=name, member=member, created_by=user)
    raw = new_data_key()
    channel.wrapped_key = key_provider().wrap(raw, context=channel.context())
    secret = "whsec_" + secrets.token_urlsafe(32) if kind == Kind.WEBHOOK else None
    _seal(channel, DataKey(raw), target=target, secret=secret)
    now = timezone.now()
    if kind == Kind.EMAIL and member is None:
        channel.status = Status.UNCONFIRMED
    else:
        channel.confirmed_at = now
    with transaction.atomic():
        channel.save()
        audit_record(
            action=AuditEntry.Action.ALERT_CHANNEL_ADDED,
            actor=user,
            team=team,
            target=channel,
            request=request,
        )
    if channel.status == Status.UNCONFIRMED:
        alert_channel_send_confirmation(channel=channel)
    return channel


def alert_channel_update(
    *, user: User, channel: AlertChannel, name: str, target: str | None = None, request=None
) -> AlertChannel:
    """Rename a channel, or change its address/URL (a new non-member address confirms again)."""
    team_require_writable(channel.team)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Give the channel a name under 100 characters."})
    channel.name = name
    fields = ["name"]
    needs_confirmation = False
    if target is not None and (target.strip() != alert_channel_target(channel)):
        new_target, member = _clean_target(
            team=channel.team, kind=channel.kind, target=target, member=None
        )
        _seal(channel, channel_key(channel), target=new_target, secret=None)
        channel.member = member
        fields += ["target_enc", "member"]
        if channel.kind == Kind.EMAIL and member is None:
            channel.status, channel.confirmed_at = Status.UNCONFIRMED, None
            fields += ["status", "confirmed_at"]
            needs_confirmation = True
    channel.save(update_fields=fields)
    if needs_confirmation:
        alert_channel_send_confirmation(channel=channel)
    return channel


def alert_channel_delete(*, user: User, channel: AlertChannel, request=None) -> None:
    """Remove a channel; its deliveries not yet sent go with it (the alerts stay)."""
    with transaction.atomic():
        audit_record(
            action=AuditEntry.Action.ALERT_CHANNEL_REMOVED,
            actor=user,
            team=channel.team,
            target=channel,
            request=request,
        )
        channel.delete()


def _confirm_token(channel: AlertChannel) -> str:
    return signing.dumps(str(channel.code), salt=CONFIRM_SALT)


def alert_channel_send_confirmation(*, channel: AlertChannel) -> None:
    """Email the confirmation link to an UNCONFIRMED address: the only thing it receives."""
    link = settings.SITE_ROOT + reverse(
        "alerts:channel_confirm", kwargs={"token": _confirm_token(channel)}
    )
    email_send(
        to=alert_channel_target(channel),
        template="alert-confirm",
        context={"team": channel.team, "link": link},
    )


def alert_channel_for_confirm_token(token: str) -> AlertChannel:
    """The channel a confirmation link names; TokenInvalid when forged, expired or removed."""
    try:
        code = signing.loads(token, salt=CONFIRM_SALT, max_age=settings.ALERTS_CONFIRM_MAX_AGE)
        return AlertChannel.objects.select_related("team").get(code=code)
    except (signing.BadSignature, ValueError, ValidationError, AlertChannel.DoesNotExist):
        raise TokenInvalid("This link is invalid or has expired.") from None


def alert_channel_confirm(*, token: str) -> AlertChannel:
    """Apply a confirmation link: the address now receives the team's alerts."""
    channel = alert_channel_for_confirm_token(token)
    if channel.status == Status.UNCONFIRMED:
        updated = AlertChannel.objects.filter(pk=channel.pk, status=Status.UNCONFIRMED).update(
            status=Status.ACTIVE, confirmed_at=timezone.now()
        )
        if updated:
            audit_record(
                action=AuditEntry.Action.ALERT_CHANNEL_CONFIRMED, team=channel.team, target=channel
            )
        channel.refresh_from_db()
    return channel


def alert_channel_pause(*, channel: AlertChannel, reason: str) -> bool:
    """Pause a channel that keeps failing; its waiting deliveries are not sent (SKIPPED).

    Returns True when this call paused it (so the owner is told once). The owner
    hears by email, to their own address, never through the paused channel.
    """
    now = timezone.now()
    with transaction.atomic():
        paused = (
            AlertChannel.objects.filter(pk=channel.pk)
            .exclude(status=Status.PAUSED)
            .update(status=Status.PAUSED, paused_at=now, pause_reason=reason[:300])
        )
        if not paused:
            return False
        channel.status, channel.paused_at, channel.pause_reason = Status.PAUSED, now, reason[:300]
        Delivery.objects.filter(channel=channel, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SKIPPED,
            last_error="Not sent: the channel was paused.",
            next_attempt_at=None,
        )
    owner = (
        Membership.objects.select_related("user")
        .filter(team_id=channel.team_id, role=Membership.Role.OWNER)
        .first()
    )
    if owner is not None:
        email_send(
            to=owner.user.email,
            template="alert-channel-paused",
            context={
                "channel": channel,
                "reason": reason,
                "link": settings.SITE_ROOT + reverse("alerts:settings"),
            },
        )
    return True


def alert_channel_resume(*, user: User, channel: AlertChannel, request=None) -> AlertChannel:
    """Resume a paused channel: new alerts reach it again (those skipped stay skipped)."""
    team_require_writable(channel.team)
    channel.refresh_from_db()
    if channel.status != Status.PAUSED:
        return channel
    status = Status.ACTIVE if channel.confirmed_at or channel.member_id else Status.UNCONFIRMED
    with transaction.atomic():
        AlertChannel.objects.filter(pk=channel.pk, status=Status.PAUSED).update(
            status=status, paused_at=None, pause_reason="", consecutive_failures=0
        )
        audit_record(
            action=AuditEntry.Action.ALERT_CHANNEL_RESUMED,
            actor=user,
            team=channel.team,
            target=channel,
            request=request,
        )
    channel.refresh_from_db()
    return channel


def alert_channel_send_test(*, user: User, channel: AlertChannel) -> None:
    """Queue a test message to the channel; the worker sends it (never the web request).

    An unconfirmed address gets its confirmation link again instead.
    """
    from cvrtracker.alerts.tasks_delivery import send_test

    team_require_writable(channel.team)
    if channel.status == Status.UNCONFIRMED:
        alert_channel_send_confirmation(channel=channel)
        return
    transaction.on_commit(lambda: send_test.enqueue(channel.pk))


def rule_channel_for_token(token: str):
    """The (rule, channel) subscription an unsubscribe link names; TokenInvalid otherwise."""
    from cvrtracker.alerts.messages import unsubscribe_read
    from cvrtracker.alerts.models import RuleChannel

    try:
        rule_code, channel_code = unsubscribe_read(token)
        return RuleChannel.objects.select_related("rule", "channel__team").get(
            rule__code=rule_code, channel__code=channel_code
        )
    except (signing.BadSignature, ValueError, ValidationError, RuleChannel.DoesNotExist):
        raise TokenInvalid(
            "This unsubscribe link is not valid, or the alert or channel was removed."
        ) from None


def alert_unsubscribe(*, token: str, request=None):
    """Stop one rule on one channel (RFC 8058 one-click); other pairs keep sending.

    Idempotent: a second click changes nothing and audits nothing.
    """
    from cvrtracker.alerts.models import RuleChannel

    subscription = rule_channel_for_token(token)
    if subscription.unsubscribed_at is None:
        with transaction.atomic():
            done = RuleChannel.objects.filter(
                pk=subscription.pk, unsubscribed_at__isnull=True
            ).update(unsubscribed_at=timezone.now())
            if done:
                audit_record(
                    action=AuditEntry.Action.ALERT_UNSUBSCRIBED,
                    team=subscription.channel.team,
                    target=subscription.rule,
                )
        subscription.refresh_from_db()
    return subscription
