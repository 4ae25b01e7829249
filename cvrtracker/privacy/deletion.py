"""Account deletion: what happens at once when a user deletes their account, and the
purge ACCOUNT_DELETION_GRACE_DAYS later that removes every row of theirs.

At once (`account_delete`): log-in is refused and every session ends; the user
leaves their team, and ownership passes to its longest-standing other member; when
they were its last member the team goes too: its API keys are revoked, its seller
connections stopped with their data keys destroyed (so every ciphertext of theirs
is unreadable from that moment), its alert channels' and exports' keys destroyed,
and its Stripe subscription cancelled. A Stripe that cannot be reached does not
undo the rest: the subscription stays live in our copy, and every retention run
tries again until it is cancelled (the team is not purged before).

Later (`deletion_purge_due`, a retention rule): the team's rows, in batches and
children first, then its audit chain, then the team; then the user's row, which
takes its sessions, devices, codes, usage data, exports and requests with it.
Billing records stay for accounting (they name no person: invoice number, amount,
currency, date and the team's random code). Audit entries the user left in another
team's chain keep their old id, which names nobody once the row is gone, until
AUDIT_RETENTION_DAYS ends them (the database refuses to rewrite the trail).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from cvrtracker.accounts.models import Invitation, Membership, Team, User
from cvrtracker.accounts.services import user_end_sessions
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.audit.models import AuditEntry
from cvrtracker.audit.services import AuditContext, audit_chain_delete, audit_record
from cvrtracker.lib.emails import email_send
from cvrtracker.privacy.export import data_export_discard
from cvrtracker.privacy.models import ConnectionDeletion, DataExport
from cvrtracker.privacy.purge import connection_purge, counters_add

logger = logging.getLogger(__name__)


class ReauthenticationFailed(Exception):
    """The password or the two-factor code given to confirm a deletion is wrong.
    `field` names the form field to show the message on."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DeletionPlan:
    """What deleting `user`'s account does to their team, for the page to say."""

    team: Team | None
    # The member who becomes owner (when the user owns a team with other members).
    new_owner: User | None
    # True when the user is the team's last member: the team is deleted too.
    team_deleted: bool
    purge_at: datetime


def account_deletion_plan(*, user: User, now: datetime | None = None) -> DeletionPlan:
    """What would happen if `user` deleted their account now."""
    now = now or timezone.now()
    membership = Membership.objects.filter(user=user).select_related("team").first()
    purge_at = now + timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS)
    if membership is None:
        return DeletionPlan(team=None, new_owner=None, team_deleted=False, purge_at=purge_at)
    team = membership.team
    successor = _successor(team=team, leaving=user)
    new_owner = successor.user if successor is not None and membership.is_owner else None
    return DeletionPlan(
        team=team, new_owner=new_owner, team_deleted=successor is None, purge_at=purge_at
    )


def account_reauthenticate(
    *, user: User, password: str, code: str = "", context: AuditContext | None = None
) -> None:
    """Check the user's current password and, if they use two-factor log-in, a
    current code from their authenticator app. ReauthenticationFailed otherwise
    (each failure audited as a failed log-in of the account)."""
    from cvrtracker.accounts.mfa import mfa_device

    if not user.check_password(password):
        audit_record(action=AuditEntry.Action.LOGIN_FAILED, context=context, actor=user)
        raise ReauthenticationFailed("That password is not right.", field="password")
    device = mfa_device(user=user)
    if device is None:
        return
    digits = "".join(ch for ch in code if ch.isdigit()) if len(code) <= 20 else ""
    with transaction.atomic():
        # Locked: verify_token records the code as used, so it cannot be replayed.
        locked = type(device).objects.select_for_update().get(pk=device.pk)
        if digits and locked.verify_token(digits):
            return
    audit_record(action=AuditEntry.Action.MFA_FAILED, context=context, actor=user)
    raise ReauthenticationFailed(
        "That code is not right. Use the newest one from your authenticator app.", field="code"
    )


def account_delete(*, user: User, context: AuditContext | None = None) -> DeletionPlan:
    """Delete `user`'s account: everything that must happen at once happens here
    (see the module's docstring), and the purge follows after the grace period.
    Deleting an account already deleted changes nothing. Returns what was done."""
    now = timezone.now()
    context = context or AuditContext(actor=user)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.deletion_requested_at is not None:
            return account_deletion_plan(user=locked, now=locked.deletion_requested_at)
        plan = account_deletion_plan(user=locked, now=now)
        team = plan.team
        audit_record(
            action=AuditEntry.Action.ACCOUNT_DELETION_REQUESTED,
            context=context,
            actor=locked,
            team=team,
            target=locked,
        )
        if team is not None and plan.team_deleted:
            _team_delete_start(team=team, actor=locked, context=context, now=now)
        elif team is not None:
            _team_leave(team=team, user=locked, new_owner=plan.new_owner, context=context)
        # Assigned and saved: pending_email is encrypted, update() cannot write it.
        locked.is_active, locked.deletion_requested_at, locked.pending_email = False, now, ""
        locked.save(update_fields=["is_active", "deletion_requested_at", "pending_email"])
        _sessions_end(user=locked)
        _exports_destroy(DataExport.objects.filter(requested_by=locked))
        # Alerts must not go on being sent to the address of a deleted account.
        locked.alert_channels.all().delete()
    user.refresh_from_db()
    if team is not None and plan.team_deleted:
        connections = list(SellerConnection.objects.filter(team=team))
        transaction.on_commit(lambda: _connections_purge(connections, actor=user))
        _subscription_cancel(team=team, actor=user, context=context)
    transaction.on_commit(lambda: _confirmation_send(user=user, plan=plan))
    logger.info("Account %s deleted (team deleted: %s)", user.code, plan.team_deleted)
    return plan


def _successor(*, team: Team, leaving: User) -> Membership | None:
    # The longest-standing other member takes over: the one who has known the team longest.
    others = team.memberships.exclude(user=leaving).filter(user__deletion_requested_at=None)
    return others.select_related("user").order_by("created_at", "pk").first()


def _team_leave(*, team: Team, user: User, new_owner: User | None, context: AuditContext) -> None:
    """The user leaves a team that stays: ownership first, then the membership."""
    if new_owner is not None:
        Membership.objects.filter(team=team, user=new_owner).update(role=Membership.Role.OWNER)
        audit_record(
            action=AuditEntry.Action.TEAM_OWNER_CHANGED,
            context=context,
            actor=user,
            team=team,
            target=new_owner,
        )
    Membership.objects.filter(team=team, user=user).delete()


def _team_delete_start(*, team: Team, actor: User, context: AuditContext, now: datetime) -> None:
    """The last member leaves: the team stops working at once and waits for the purge."""
    Team.objects.filter(pk=team.pk).update(deletion_requested_at=now)
    team.deletion_requested_at = now
    audit_record(
        action=AuditEntry.Action.TEAM_DELETION_REQUESTED,
        context=context,
        actor=actor,
        team=team,
        target=team,
    )
    from cvrtracker.alerts.models import AlertChannel
    from cvrtracker.amazon.services import connection_disconnect  # loads the SP-API client
    from cvrtracker.api.models import ApiKey

    ApiKey.objects.filter(team=team, revoked_at=None).update(revoked_at=now)
    # An open invitation would let someone join a team that is going away.
    Invitation.objects.filter(team=team, accepted_at=None).delete()
    for connection in SellerConnection.objects.filter(team=team):
        # Calls stop and the data key is destroyed in this transaction; once it
        # commits, the purge of its data is queued (privacy/receivers.py).
        connection_disconnect(
            connection=connection,
            actor=actor,
            context=context,
            reason=ConnectionDeletion.Reason.ACCOUNT_DELETED,
        )
    # The channels' addresses and URLs are readable only with their keys.
    AlertChannel.objects.filter(team=team).update(
        wrapped_key=None,
        target_enc=None,
        secret_enc=None,
        status=AlertChannel.Status.PAUSED,
        paused_at=now,
        pause_reason="The team's account was deleted.",
    )
    _exports_destroy(DataExport.objects.filter(team=team))


def _connections_purge(connections: list[SellerConnection], *, actor: User) -> None:
    """The SP-API purge of each stopped connection (privacy/purge.py), right away.

    Its failure is logged only: the keys are already destroyed and the team purge
    deletes whatever is left."""
    from cvrtracker.privacy.purge import connection_stop_and_purge

    for connection in connections:
        try:
            connection_stop_and_purge(
                connection=connection, reason=ConnectionDeletion.Reason.ACCOUNT_DELETED, actor=actor
            )
        except Exception:
            logger.exception("Purge of connection %s after account deletion", connection.code)


def _subscription_cancel(
    *, team: Team, actor: User | None, context: AuditContext | None = None
) -> bool:
    """Cancel the team's Stripe subscription; False if Stripe could not be reached
    or refused (logged; the subscription stays live in our copy, and every
    retention run tries again before the team may be purged)."""
    from cvrtracker.billing.services import subscription_cancel_now
    from cvrtracker.billing.stripe import BillingError

    try:
        subscription_cancel_now(team=team, actor=actor, context=context)
    except BillingError as error:
        logger.error(
            "Could not cancel the subscription of deleted team %s (%s): retried by the "
            "retention run",
            team.code,
            error,
        )
        return False
    return True


def _sessions_end(*, user: User) -> None:
    """End every session of the user: the recorded ones, and any other Django
    session that names them (one started before sessions were recorded, or a
    log-in waiting for its second factor)."""
    user_end_sessions(user=user)
    pk = str(user.pk)
    doomed = []
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500):
        # Not session.get_decoded(): Django's Session model decodes with its own
        # store, which cannot open the sealed data of ours (lib/sessions.py).
        data = store.decode(session.session_data)
        pending = data.get("mfa_pending") or {}
        if data.get("_auth_user_id") == pk or str(pending.get("user", "")) == pk:
            doomed.append(session.session_key)
    Session.objects.filter(session_key__in=doomed).delete()


def _exports_destroy(exports: models.QuerySet) -> None:
    """Delete exports at once, files, keys and rows (privacy/export.py)."""
    for export in exports:
        data_export_discard(export=export)


def _confirmation_send(*, user: User, plan: DeletionPlan) -> None:
    try:
        email_send(
            to=user.email,
            template="account-deleted",
            context={
                "user": user,
                "team": plan.team,
                "team_deleted": plan.team_deleted,
                "new_owner": plan.new_owner,
                "purge_at": plan.purge_at,
                "grace_days": settings.ACCOUNT_DELETION_GRACE_DAYS,
                "privacy_url": settings.SITE_ROOT + reverse("front:privacy"),
                "support_email": settings.SUPPORT_EMAIL,
            },
        )
    except OSError:
        logger.exception("Could not send the deletion confirmation of %s", user.code)


# The purge ---------------------------------------------------------------------------


def deletion_purge_due(*, now: datetime) -> int:
    """The retention rule: purge every team and user whose deletion is
    ACCOUNT_DELETION_GRACE_DAYS old (or older), and retry the Stripe cancellation
    of every team still waiting. Returns rows deleted. Idempotent."""
    before = now - timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS)
    deleted = 0
    for team in Team.objects.filter(deletion_requested_at__isnull=False):
        cancelled = _subscription_cancel(team=team, actor=None)
        if team.deletion_requested_at > before:
            continue
        if not cancelled and _subscription_live(team=team):
            # Deleting the row would forget the subscription Stripe still charges.
            continue
        deleted += team_purge(team=team)
    for user in User.objects.filter(deletion_requested_at__lte=before):
        deleted += user_purge(user=user)
    return deleted


def _subscription_live(*, team: Team) -> bool:
    from cvrtracker.billing.models import Subscription

    return (
        Subscription.objects.filter(team=team, status__in=Subscription.LIVE_STATUSES)
        .exclude(stripe_subscription_id="")
        .exists()
    )


def team_purge(*, team: Team) -> int:
    """Delete every row of a deleted team: each connection's data in batches, children
    first, then the team's audit chain, then the team (its members, keys, channels,
    subscription and receipts go with it; billing records stay, without it).
    Returns rows deleted."""
    deleted = 0
    # Normally purged right after the deletion already; here whatever is left, by the
    # same purge as a disconnect (its plan, batches and receipt).
    for connection in SellerConnection.objects.filter(team=team):
        receipt = connection_purge(
            connection=connection, reason=ConnectionDeletion.Reason.ACCOUNT_DELETED
        )
        if receipt is not None:
            deleted += sum(receipt.counts.values()) + 1
    code = team.code
    deleted += audit_chain_delete(team_code=code)
    deleted += Team.objects.filter(pk=team.pk).delete()[0]
    counters_add({"teams_deleted": 1})
    logger.info("Deleted team %s purged: %d rows", code, deleted)
    return deleted


def user_purge(*, user: User) -> int:
    """Delete a deleted user's row and everything that cascades from it, and the
    records that hold their address without a key to them (log-in attempts,
    invitations sent to it). Returns rows deleted."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    from cvrtracker.privacy.login_records import login_records_of

    deleted = 0
    _sessions_end(user=user)
    _exports_destroy(DataExport.objects.filter(requested_by=user))
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        deleted += model.objects.filter(login_records_of(user.email)).delete()[0]
    deleted += Invitation.objects.filter(email__iexact=user.email).delete()[0]
    deleted += User.objects.filter(pk=user.pk).delete()[0]
    counters_add({"accounts_deleted": 1})
    logger.info("Deleted account %s purged", user.code)
    return deleted
