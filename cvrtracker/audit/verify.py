"""Walk the audit trail's hash chains and say where each one breaks."""

from __future__ import annotations

from dataclasses import dataclass, field

from cvrtracker.audit.chain import GENESIS, entry_hash
from cvrtracker.audit.models import AuditChain, AuditEntry
from cvrtracker.lib.crypto import DecryptionError


@dataclass
class ChainReport:
    key: str
    entries: int = 0
    last_hash: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_chain_verify(*, key: str) -> ChainReport:
    """Check one chain, oldest entry first: numbers without gaps from 1, each entry
    linked to the one before, each hash matching the entry's columns, and the last
    entry the one the chain's head names. Returns what was found wrong, if anything."""
    report = ChainReport(key=key)
    head = AuditChain.objects.filter(key=key).first()
    # Retention removed the entries up to `pruned_seq`: the kept part links to its hash.
    expected_seq, prev = 1, GENESIS
    if head is not None and head.pruned_seq:
        expected_seq, prev = head.pruned_seq + 1, head.pruned_hash
    entries = AuditEntry.objects.filter(chain=key, seq__gte=expected_seq).order_by("seq", "pk")
    for entry in entries.iterator(chunk_size=2000):
        report.entries += 1
        where = f"entry {entry.seq} ({entry.code})"
        if entry.seq != expected_seq:
            report.problems.append(
                f"{where}: expected entry {expected_seq} here; "
                + ("an entry was removed" if entry.seq > expected_seq else "duplicate number")
            )
        if entry.prev_hash != prev:
            report.problems.append(f"{where}: does not link to the entry before it")
        try:
            altered = entry.hash != entry_hash(entry)
        except DecryptionError:
            # Its encrypted address, browser or detail (lib/fields.py) was replaced by
            # a ciphertext of another row or column, or of a key not configured.
            report.problems.append(f"{where}: its encrypted columns do not open (altered)")
        else:
            if altered:
                report.problems.append(f"{where}: its content does not match its hash (altered)")
        expected_seq, prev = entry.seq + 1, entry.hash
    report.last_hash = prev
    if head is None:
        if report.entries:
            report.problems.append("the chain's head is missing")
    elif (head.last_seq, head.last_hash) != (expected_seq - 1, prev):
        report.problems.append(
            f"the chain should end at entry {head.last_seq}, it ends at {expected_seq - 1}: "
            "the newest entries were removed or changed"
        )
    return report


def audit_chain_keys() -> list[str]:
    """Every chain with a head or an entry; entries never chained (seq NULL) are
    reported under their chain by audit_unchained_count."""
    keys = set(AuditChain.objects.values_list("key", flat=True))
    keys.update(AuditEntry.objects.values_list("chain", flat=True).distinct())
    return sorted(keys)


def audit_unchained_count(*, key: str | None = None) -> int:
    """Entries with no place in any chain: written around the chain, never by audit_record."""
    entries = AuditEntry.objects.filter(seq__isnull=True)
    return (entries.filter(chain=key) if key is not None else entries).count()
