"""Account and team services: sign-up, email verification, profile, invitations."""

import logging

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from cvrtracker.accounts.models import (
    Invitation,
    Membership,
    Team,
    User,
    UserSession,
)
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import AuditContext, audit_record
from cvrtracker.lib.emails import email_send
from cvrtracker.lib.fields import ip_normalise

log = logging.getLogger(__name__)

VERIFY_SALT = "accounts.verify-email"
INVITE_SALT = "accounts.invitation"


class TokenInvalid(Exception):
    """A link that is malformed, expired, already used or meant for someone else."""


def user_signup(
    *,
    name: str,
    email: str,
    password: str,
    invitation: Invitation | None = None,
) -> User | None:
    """Create a user and their team (or join the invitation's team).

    Returns None when the email already has an account: that person gets an
    email about it instead, so the form's answer does not reveal who has an
    account here.
    """
    email = email.strip().lower()
    now = timezone.now()
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email,
                password,
                name=name.strip(),
                age_confirmed_at=now,
                privacy_policy_version=settings.PRIVACY_POLICY_VERSION,
                privacy_policy_accepted_at=now,
            )
            if invitation is not None:
                # The invitation link reached this mailbox, which proves the address.
                user.email_verified_at = now
                user.save(update_fields=["email_verified_at"])
                Membership.objects.create(user=user, team=invitation.team, role=invitation.role)
                invitation.accepted_at = now
                invitation.save(update_fields=["accepted_at"])
                audit_record(action=AuditEntry.Action.MEMBER_JOINED, actor=user, target=invitation)
            else:
                team = Team.objects.create(name=f"{user.get_short_name()}'s team")
                Membership.objects.create(user=user, team=team, role=Membership.Role.OWNER)
                audit_record(action=AuditEntry.Action.SIGNED_UP, actor=user, team=team)
    except IntegrityError:
        email_send(
            to=email, template="signup-exists", context={"login_url": _url("accounts:login")}
        )
        return None
    if invitation is None:
        user_send_verification(user=user, email=user.email)
    return user


def user_send_verification(*, user: User, email: str) -> None:
    """Email a link that proves `email` belongs to `user`."""
    token = signing.dumps({"u": str(user.code), "e": email}, salt=VERIFY_SALT)
    email_send(
        to=email,
        template="verify-email",
        context={"user": user, "link": _url("accounts:verify_email", token=token)},
    )


def user_verify_email(*, token: str) -> User:
    """Apply a verification link: confirm the sign-up address or switch to a new one."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
        user = User.objects.get(code=data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError, User.DoesNotExist):
        raise TokenInvalid("This link is invalid or has expired.") from None

    email = data.get("e", "")
    now = timezone.now()
    if email == user.email:
        if user.email_verified_at is None:
            user.email_verified_at = now
            user.save(update_fields=["email_verified_at"])
        return user
    if email and email == user.pending_email:
        if User.objects.filter(email=email).exclude(pk=user.pk).exists():
            raise TokenInvalid("That address now belongs to another account.")
        user.email, user.pending_email, user.email_verified_at = email, "", now
        user.save(update_fields=["email", "pending_email", "email_verified_at"])
        audit_record(action=AuditEntry.Action.EMAIL_CHANGED, actor=user)
        return user
    raise TokenInvalid("This link is no longer valid.")


def user_update_profile(
    *, user: User, name: str, email: str, context: AuditContext | None = None
) -> bool:
    """Save the name at once (audited when it changed); a new email waits for
    verification, and is audited when the link is followed. True if one was sent."""
    old, name = user.name, name.strip()
    email = email.strip().lower()
    changing = email != user.email
    with transaction.atomic():
        user.name = name
        if changing:
            user.pending_email = email
        user.save(update_fields=["name", "pending_email"])
        if name != old:
            audit_record(
                action=AuditEntry.Action.PROFILE_CHANGED,
                context=context,
                actor=user,
                target=user,
                detail=f"{old} → {name}",
            )
    if changing:
        user_send_verification(user=user, email=email)
    return changing


def team_invite(
    *, team: Team, email: str, actor: User, context: AuditContext | None = None
) -> Invitation:
    """Invite `email` to the team as a member, or re-send an open invitation."""
    email = email.strip().lower()
    invitation, _ = Invitation.objects.get_or_create(
        team=team, email=email, accepted_at=None, defaults={"invited_by": actor}
    )
    if invitation.is_expired():
        invitation.created_at = timezone.now()
        invitation.save(update_fields=["created_at"])
    audit_record(
        action=AuditEntry.Action.MEMBER_INVITED,
        context=context,
        actor=actor,
        team=team,
        target=invitation,
    )
    token = signing.dumps(str(invitation.code), salt=INVITE_SALT)
    email_send(
        to=email,
        template="invitation",
        context={
            "team": team,
            "inviter": actor,
            "link": _url("accounts:invitation", token=token),
        },
    )
    return invitation


def team_rename(*, team: Team, name: str, actor: User, context: AuditContext | None = None) -> None:
    """Give the team a new name."""
    with transaction.atomic():
        old = team.name
        team.name = name
        team.save(update_fields=["name"])
        audit_record(
            action=AuditEntry.Action.TEAM_RENAMED,
            context=context,
            actor=actor,
            team=team,
            target=team,
            detail=f"{old} → {name}",
        )


def invitation_cancel(
    *, invitation: Invitation, actor: User, context: AuditContext | None = None
) -> None:
    """Withdraw an open invitation: its link stops working."""
    with transaction.atomic():
        audit_record(
            action=AuditEntry.Action.INVITATION_CANCELLED,
            context=context,
            actor=actor,
            team=invitation.team,
            target=invitation,
        )
        invitation.delete()


def invitation_from_token(*, token: str) -> Invitation:
    """The open invitation a link stands for."""
    try:
        code = signing.loads(token, salt=INVITE_SALT, max_age=settings.INVITATION_MAX_AGE)
        return Invitation.objects.select_related("team").get(code=code, accepted_at__isnull=True)
    except (signing.BadSignature, ValueError, Invitation.DoesNotExist):
        raise TokenInvalid("This invitation is invalid, expired or already used.") from None


def member_remove(
    *, membership: Membership, actor: User, context: AuditContext | None = None
) -> None:
    """Take a member off the team: they lose access at once, with their sessions."""
    if membership.is_owner:
        raise ValueError("The owner cannot be removed.")
    user = membership.user
    with transaction.atomic():
        audit_record(
            action=AuditEntry.Action.MEMBER_REMOVED,
            context=context,
            actor=actor,
            team=membership.team,
            target=user,
        )
        membership.delete()
        # Without a team the account cannot see anything; a fresh team of their own
        # keeps the one-team-per-user rule without handing them the old team's data.
        team = Team.objects.create(name=f"{user.get_short_name()}'s team")
        Membership.objects.create(user=user, team=team, role=Membership.Role.OWNER)
        user_end_sessions(user=user)


def user_session_start(*, user: User, session_key: str, ip: str | None, user_agent: str) -> None:
    """Remember a fresh log-in so that it can be listed and ended later."""
    UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={"user": user, "ip": ip_normalise(ip), "user_agent": user_agent[:300]},
    )


def user_session_forget(*, session_key: str | None) -> None:
    """Drop the record of a session that is ending (log-out or timeout)."""
    UserSession.objects.filter(session_key=session_key or "").delete()


def user_end_sessions(*, user: User, keep_session_key: str | None = None) -> int:
    """Delete the user's server-side sessions (all but one, if given). Returns how many."""
    rows = UserSession.objects.filter(user=user).exclude(session_key=keep_session_key or "")
    keys = list(rows.values_list("session_key", flat=True))
    ended, _ = Session.objects.filter(session_key__in=keys).delete()
    rows.delete()
    return ended


def _url(name: str, **kwargs) -> str:
    return settings.SITE_ROOT + reverse(name, kwargs=kwargs or None)
