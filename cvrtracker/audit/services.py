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

import contextlib
import contextvars
from dataclasses import dataclass, replace

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models.fields import AutoFieldMixin
from django.http import HttpRequest
from django.utils import timezone

from cvrtracker.audit.chain import GENESIS, chain_key, entry_hash
from cvrtracker.audit.models import AuditChain, AuditEntry
from cvrtracker.lib.fields import ip_normalise

# Entries waiting for the end of the request (None outside a request).
_pending: contextvars.ContextVar[list[AuditEntry] | None] = contextvars.ContextVar(
    "audit_pending", default=None
)


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
    """Append `entries` to their chains: per chain, one statement that locks the head
    and reserves the numbers, then one that inserts the entries (and, on PostgreSQL,
    moves the head's hash in the same statement).
    `reads`: a batch of reads written on its own, which may commit without waiting
    for the disk (see _statements); events are written in the transaction of their
    change."""
    chains: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        chains.setdefault(entry.chain, []).append(entry)
    sql = _statements()
    for key, batch in chains.items():
        if sql.combined and not connection.in_atomic_block:
            # On its own on PostgreSQL: the transaction's BEGIN and COMMIT travel with
            # the two statements, two round trips in all (see _append_alone).
            _append_alone(sql, key, batch, quick_commit=reads)
            continue
        # No savepoint: nothing here is retried. The head's row lock (PostgreSQL) or
        # the database's write lock (SQLite, whose transactions start IMMEDIATE and
        # whose first statement here writes) orders the writers, so no append loses a
        # race; a failure fails the enclosing transaction, as the change it records must.
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            _append(cursor, sql, key, batch)


def _append_alone(sql: _Statements, key: str, batch: list[AuditEntry], *, quick_commit: bool):
    """_append in a transaction of its own, outside any other (a page's reads, an event
    with no transaction around it), on PostgreSQL: "BEGIN; <lock and reserve>" and
    "<insert and move>; COMMIT" each go in one message (the simple query protocol runs
    them in order and stops at the first error), where Django's atomic() would send
    BEGIN and COMMIT on their own. Whatever goes wrong in between rolls back."""
    with connection.cursor() as cursor:
        try:
            _append(cursor, sql, key, batch, alone=True, quick_commit=quick_commit)
        except BaseException:
            # If even that fails, the connection is broken, which ends the transaction.
            with contextlib.suppress(DatabaseError):
                cursor.execute("ROLLBACK")
            raise


def _append(cursor, sql: _Statements, key: str, batch, *, alone=False, quick_commit=False):
    n = len(batch)
    now = sql.updated_at.get_db_prep_save(timezone.now(), connection)
    # Lock the head and take the next n numbers in one statement.
    reserve = sql.reserve_quick if quick_commit else sql.reserve
    cursor.execute(("BEGIN; " if alone else "") + reserve, [n, now, key])
    if alone:
        cursor.nextset()  # past BEGIN's result
    row = cursor.fetchone()
    if row is None:  # the team's first entry: make its head, then lock it
        head = AuditChain(key=key)
        cursor.execute(
            sql.make_head,
            [f.get_db_prep_save(f.pre_save(head, True), connection) for f in sql.head_fields],
        )
        cursor.execute(reserve, [n, now, key])
        row = cursor.fetchone()
        if row is None:
            raise IntegrityError(f"The audit chain {key} has no head.")
    seq, prev = row[0] - n, row[1] or GENESIS
    for entry in batch:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.hash = prev = entry_hash(entry)
    # Each column's value through its field (pre_save, get_db_prep_save), as the ORM
    # would write it: a field that encrypts or converts keeps doing so.
    params: list = [prev, key] if sql.combined else []
    for entry in batch:
        for field in sql.fields:
            params.append(field.get_db_prep_save(field.pre_save(entry, True), connection))
    cursor.execute(sql.insert(n) + ("; COMMIT" if alone else ""), params)
    rows = cursor.fetchall()  # the INSERT's: the first result
    # PostgreSQL moved the head in the INSERT's WITH: the row this transaction locked
    # above, by its unique key, so exactly that row. SQLite moves it now.
    if not sql.combined:
        cursor.execute(sql.move, [prev, key])
        if cursor.rowcount != 1:
            raise IntegrityError("The audit chain's head could not be moved.")
    for entry, returned in zip(batch, rows, strict=True):
        for field, value in zip(sql.returning, returned, strict=True):
            setattr(entry, field.attname, value)
        entry._state.adding = False
        entry._state.db = connection.alias


@dataclass(frozen=True)
class _Statements:
    """The SQL of an append on this connection's database, built from the models'
    _meta (table and column names, every concrete field) once per vendor."""

    reserve: str
    reserve_quick: str
    fields: tuple
    returning: tuple
    columns: str
    row: str
    combined: bool
    move: str
    updated_at: object
    insert_head: str
    make_head: str
    head_fields: tuple

    def insert(self, rows: int) -> str:
        values = ", ".join([self.row] * rows)
        return f"{self.insert_head} VALUES {values} RETURNING {self.columns}"


_STATEMENTS: dict[str, _Statements] = {}


def _insert_fields(model) -> tuple:
    """The columns an INSERT of a new row gives, as bulk_create picks them: every
    concrete field but the generated ones and the auto-numbered key."""
    fields = tuple(
        f
        for f in model._meta.concrete_fields
        if not f.generated and not (f.primary_key and isinstance(f, AutoFieldMixin))
    )
    for f in fields:
        # A field the INSERT must write with its own SQL (a placeholder of its own, a
        # database default) needs the ORM's compiler: say so instead of writing it wrongly.
        if hasattr(f, "get_placeholder") or f.has_db_default():
            raise ImproperlyConfigured(f"audit_write cannot write {f} with %s.")
    return fields


def _statements() -> _Statements:
    vendor = connection.vendor
    if vendor not in _STATEMENTS:
        q = connection.ops.quote_name
        chain = AuditChain._meta
        key, last_seq, last_hash, updated_at = (
            chain.get_field(name) for name in ("key", "last_seq", "last_hash", "updated_at")
        )
        head = q(chain.db_table)
        # Every name in these statements comes from _meta and every value is a parameter.
        seq_col, hash_col, key_col = q(last_seq.column), q(last_hash.column), q(key.column)
        reserve = (
            f"UPDATE {head} SET {seq_col} = {seq_col} + %s, {q(updated_at.column)} = %s "  # noqa: S608
            f"WHERE {key_col} = %s RETURNING {seq_col}, {hash_col}"
        )
        move = f"UPDATE {head} SET {hash_col} = %s WHERE {key_col} = %s"  # noqa: S608
        head_fields = _insert_fields(AuditChain)
        make_head = (
            f"INSERT INTO {head} ({', '.join(q(f.column) for f in head_fields)}) "  # noqa: S608
            f"VALUES ({', '.join('%s' for _ in head_fields)}) ON CONFLICT DO NOTHING"
        )
        opts = AuditEntry._meta
        fields = _insert_fields(AuditEntry)
        returning = tuple(opts.db_returning_fields)
        row = "(" + ", ".join("%s" for _ in fields) + ")"
        insert_head = f"INSERT INTO {q(opts.db_table)} ({', '.join(q(f.column) for f in fields)})"
        columns = ", ".join(q(f.column) for f in returning)
        combined = vendor == "postgresql"
        if combined:
            # PostgreSQL: the head's new hash is set by the INSERT's own statement (a
            # data-modifying WITH): one round trip less.
            insert_head = f"WITH moved AS ({move}) {insert_head}"
        _STATEMENTS[vendor] = _Statements(
            reserve=reserve,
            # SET LOCAL synchronous_commit = off, in the statement that locks the head
            # (no round trip of its own): the commit returns once the rows are in
            # PostgreSQL's WAL buffer, without waiting for the disk, which follows
            # within wal_writer_delay. The entry is in the database before the page
            # leaves; only a crash of the database server in that moment could lose it.
            reserve_quick=reserve + ", set_config('synchronous_commit', 'off', true)"
            if combined
            else reserve,
            fields=fields,
            returning=returning,
            columns=columns,
            row=row,
            combined=combined,
            move=move,
            updated_at=updated_at,
            insert_head=insert_head,
            make_head=make_head,
            head_fields=head_fields,
        )
    return _STATEMENTS[vendor]


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
    # Normalised as GenericIPAddressField did before the column was encrypted, so that
    # the hash covers the same text.
    return ip_normalise(value)


def _printable(value: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in value)
