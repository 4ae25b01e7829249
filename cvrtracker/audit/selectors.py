"""Reads of the audit trail: a team's access log, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.core import signing
from django.db.models import Q

from cvrtracker.audit.models import AuditEntry

Action = AuditEntry.Action
SIGN_INS = (
    Action.LOGIN,
    Action.LOGIN_FAILED,
    Action.LOGOUT,
    Action.PASSWORD_RESET,
    Action.SESSIONS_ENDED,
    Action.MFA_FAILED,
    Action.MFA_RECOVERY_USED,
)
# The kinds the access log filters by; "changes" is every other action.
KINDS = {
    "sign_ins": "Sign-ins",
    "changes": "Changes",
    "data_reads": "Data reads",
}
CURSOR_SALT = "audit.access_log"


class InvalidCursor(Exception):
    pass


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    # The cursor of the next (older) page; "" on the last page.
    next_cursor: str


def _kind_filter(kind: str) -> Q:
    if kind == "sign_ins":
        return Q(action__in=SIGN_INS)
    if kind == "data_reads":
        return Q(action__in=AuditEntry.DATA_READS)
    if kind == "changes":
        return ~Q(action__in=[*SIGN_INS, *AuditEntry.DATA_READS])
    return Q()


def _salt(team) -> str:
    # Bound to the team: a cursor of one team's log means nothing in another's.
    return f"{CURSOR_SALT}:{team.pk}"


@dataclass(frozen=True)
class AuditFilter:
    """What the access log shows: one kind (KINDS) or one action, one person, and
    the days (UTC, both included) between `since` and `until`; empty means any."""

    kind: str = ""
    action: str = ""
    actor: object | None = None
    since: date | None = None
    until: date | None = None


def audit_log_entries(*, team, filter: AuditFilter = AuditFilter()):
    """`team`'s audit entries that `filter` lets through, newest first."""
    entries = (
        AuditEntry.objects.filter(team=team)
        .filter(_kind_filter(filter.kind))
        .select_related("actor")
        .order_by("-created_at", "-code")
    )
    if filter.action:
        entries = entries.filter(action=filter.action)
    if filter.actor is not None:
        entries = entries.filter(actor=filter.actor)
    if filter.since is not None:
        entries = entries.filter(created_at__date__gte=filter.since)
    if filter.until is not None:
        entries = entries.filter(created_at__date__lte=filter.until)
    return entries


def audit_log_page(
    *,
    team,
    kind: str = "",
    actor=None,
    cursor: str = "",
    limit: int = 50,
    filter: AuditFilter | None = None,
):
    """One page of `team`'s audit entries, newest first, through `filter` (or one kind
    and one actor's), after the position `cursor` names (keyset paging on
    created_at and code, so entries written meanwhile shift no page).
    InvalidCursor for a cursor this team's log did not hand out."""
    entries = audit_log_entries(team=team, filter=filter or AuditFilter(kind=kind, actor=actor))
    if cursor:
        try:
            at, code = signing.Signer(salt=_salt(team)).unsign_object(cursor)
            at = datetime.fromisoformat(at)
        except (signing.BadSignature, ValueError, TypeError):
            raise InvalidCursor("This page link is not valid any more.") from None
        entries = entries.filter(Q(created_at__lt=at) | Q(created_at=at, code__lt=code))
    found = list(entries[: limit + 1])
    more, found = len(found) > limit, found[:limit]
    next_cursor = ""
    if more:
        last = found[-1]
        next_cursor = signing.Signer(salt=_salt(team)).sign_object(
            [last.created_at.isoformat(), str(last.code)]
        )
    return AuditPage(entries=found, next_cursor=next_cursor)
