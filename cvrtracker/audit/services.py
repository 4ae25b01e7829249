"""The audit trail: services call `audit_record` explicitly for every event worth proving.

Who acts, for which team and from where travels in an `AuditContext`, built from a
request by `audit_context_from_request` in views, or by hand in a job or a command,
so every service can audit without an HttpRequest.

Writes: an event that changes something (a log-in, a connect, a removed member) is
written at once, in the transaction of the change, so a rolled-back change leaves no
entry. Reads of Amazon data, one or more per page, are collected during the request
and written at its end in one INSERT per team (AuditMiddleware); outside a request
they are written at once. Either way each entry is appended to its team's hash chain
under a lock on the chain's head (chain.py).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, replace

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv4_address
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Func, Value
from django.http import HttpRequest
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from cvrtracker.audit.chain import GENESIS, chain_key, entry_hash
from cvrtracker.audit.models import AuditChain, AuditEntry

# Entries waiting for the end of the request (None outside a request).
_pending: contextvars.ContextVar[list[AuditEntry] | None] = contextvars.ContextVar(
    "audit_pending", default=None
)
# A write that lost a race for a new chain's head retries this many times.
APPEND_ATTEMPTS = 5


@dataclass(frozen=True)
class AuditContext:
    """Who acts and from where: the user (None for the system or an anonymous
    visitor), their team if known, the client's IP address and browser."""

    actor: object | None = None
    team: object | None = None
    ip: str | None = None
    user_agent: str = ""


SYSTEM = AuditContext()


def audit_context_from_request(request: HttpRequest, *, actor=None) -> AuditContext:
    """The context of a web request: its user (or `actor`), their team, IP and browser.

    REMOTE_ADDR is the client as the app sees it; behind the reverse proxy that is
    the proxy's view of the client (see "Running in production")."""
    if actor is None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    return AuditContext(
        actor=actor,
        team=None,
        ip=request.META.get("REMOTE_ADDR") or None,
        # Header values are untrusted: keep them short and printable.
        user_agent=_printable(request.headers.get("User-Agent", ""))[:300],
    )


def audit_record(
    *,
    action: str,
    context: AuditContext | None = None,
    request: HttpRequest | None = None,
    actor=None,
    team=None,
    target=None,
    detail: str = "",
) -> AuditEntry:
    """Append one entry. `target` is any row with a public `code`; its table name is kept.

    `context` says who and from where; `request=` still works and is turned into one.
    `actor` and `team` override the context's; the team defaults to the actor's."""
    if context is None:
        context = audit_context_from_request(request) if request is not None else SYSTEM
    if actor is not None:
        context = replace(context, actor=actor)
    actor = context.actor
    team = team if team is not None else context.team
    if team is None and actor is not None:
        membership = getattr(actor, "membership", None)
        team = membership.team if membership else None
    entry = AuditEntry(
        created_at=timezone.now(),
        action=action,
        actor=actor,
        team=team,
        target_type=target._meta.model_name if target is not None else "",
        target_code=str(target.code) if target is not None else "",
        ip=_ip(context.ip),
        user_agent=_printable(context.user_agent)[:300],
        detail=_printable(detail)[:200],
        chain=chain_key(team.code if team is not None else None),
    )
    pending = _pending.get()
    if pending is not None and action in AuditEntry.DATA_READS:
        pending.append(entry)
    else:
        audit_write([entry])
    return entry


def audit_write(entries: list[AuditEntry], *, reads: bool = False) -> None:
    """Append `entries` to their chains: one locked head and one INSERT per chain.
    `reads`: a batch of reads written on its own, which may commit without waiting
    for the disk (see _append); events are written in the transaction of their change."""
    quick_commit = reads and connection.vendor == "postgresql" and not connection.in_atomic_block
    chains: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        chains.setdefault(entry.chain, []).append(entry)
    for key, batch in chains.items():
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with transaction.atomic():
                    _append(key, batch, quick_commit=quick_commit)
                break
            except IntegrityError:
                # Another writer created this chain's head (or, on SQLite, which has
                # no row locks, appended first): read the head again and retry.
                for entry in batch:
                    entry.seq, entry.prev_hash, entry.hash = None, "", ""
                if attempt == APPEND_ATTEMPTS - 1:
                    raise


def _append(key: str, batch: list[AuditEntry], *, quick_commit: bool) -> None:
    heads = AuditChain.objects.select_for_update().filter(key=key)
    if quick_commit:
        # SET LOCAL synchronous_commit = off, in the statement that locks the head (one
        # round trip less): the commit returns once the rows are in PostgreSQL's WAL
        # buffer, without waiting for the disk, which follows within wal_writer_delay.
        # The entry is in the database before the page leaves; only a crash of the
        # database server in that moment could lose it. That wait was most of the cost.
        heads = heads.annotate(
            _quick=Func(
                Value("synchronous_commit"),
                Value("off"),
                Value(True),
                function="set_config",
                output_field=CharField(),
            )
        )
    head = heads.first()
    if head is None:
        with transaction.atomic():
            head = AuditChain.objects.create(key=key)
    seq, prev = head.last_seq, head.last_hash or GENESIS
    for entry in batch:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = prev = entry_hash(entry)
    AuditEntry.objects.bulk_create(batch)
    for entry in batch:
        entry._state.adding = False
    updated = AuditChain.objects.filter(pk=head.pk, last_seq=head.last_seq).update(
        last_seq=seq, last_hash=prev, updated_at=timezone.now()
    )
    if updated != 1:
        raise IntegrityError("The audit chain moved while it was locked.")


def audit_prune(*, before) -> int:
    """Delete every entry written before `before` (the retention runner's rule).

    Chains lose their oldest entries only: per chain, everything up to the newest
    entry older than `before`, and the head records where the kept part starts
    (`pruned_seq`, `pruned_hash`), so audit_verify still checks every kept entry
    and still sees one removed or altered after that point. Entries never chained
    (seq NULL) go by their own date. Returns entries deleted."""
    deleted = AuditEntry.objects.filter(seq__isnull=True, created_at__lt=before).delete()[0]
    keys = (
        AuditEntry.objects.filter(seq__isnull=False, created_at__lt=before)
        .values_list("chain", flat=True)
        .distinct()
    )
    for key in list(keys):
        with transaction.atomic():
            head = AuditChain.objects.select_for_update().filter(key=key).first()
            last = (
                AuditEntry.objects.filter(chain=key, seq__isnull=False, created_at__lt=before)
                .order_by("-seq")
                .only("seq", "hash")
                .first()
            )
            if last is None:
                continue
            deleted += AuditEntry.objects.filter(chain=key, seq__lte=last.seq).delete()[0]
            if head is not None and last.seq > head.pruned_seq:
                AuditChain.objects.filter(pk=head.pk).update(
                    pruned_seq=last.seq, pruned_hash=last.hash, updated_at=timezone.now()
                )
    return deleted


def audit_chain_delete(*, team_code) -> int:
    """Delete a team's whole chain (its entries and its head): the purge of a deleted
    team. Returns entries deleted."""
    key = chain_key(team_code)
    with transaction.atomic():
        deleted = AuditEntry.objects.filter(chain=key).delete()[0]
        AuditChain.objects.filter(key=key).delete()
    return deleted


class collecting:
    """Collect the reads recorded inside the block and write them when it ends, even
    if it raises (a read attempted is worth recording). AuditMiddleware wraps every
    request in one; a job that reads many things can use one too."""

    def __enter__(self):
        self._token = _pending.set([])
        return self

    def __exit__(self, *exc):
        pending = _pending.get()
        _pending.reset(self._token)
        if pending:
            audit_write(pending, reads=True)
        return False


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    # Normalised as GenericIPAddressField did before the column was encrypted (IPv6
    # compressed), so that the hash covers the same text; anything else is no address.
    value = value.strip()
    try:
        if ":" in value:
            return clean_ipv6_address(value)
        validate_ipv4_address(value)
    except ValidationError:
        return None
    return value


def _printable(value: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in value)
