"""The hash chain of the audit trail: each team's entries form one chain.

Every entry stores its place in its team's chain (`seq`), the hash of the entry
before it (`prev_hash`) and its own hash over a canonical serialisation of its
columns. Changing a column, deleting an entry or swapping two breaks the chain
at that point; `manage.py audit_verify` walks it. The serialisation is version 1:
the data migration that chained the existing rows uses it too, so it must not
change (a new format gets a new "v").
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

# The chain of the entries that belong to no team (failed log-ins of unknown emails).
SITE_CHAIN = "site"
GENESIS = ""


def chain_key(team_code) -> str:
    """The chain an entry of the team with this code (or of no team) belongs to."""
    return str(team_code) if team_code else SITE_CHAIN


def entry_payload(entry) -> bytes:
    """The canonical bytes an entry's hash covers: every column but the hash itself."""
    at = entry.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = {
        "v": 1,
        "chain": entry.chain,
        "seq": entry.seq,
        "prev": entry.prev_hash,
        "code": str(entry.code),
        "at": at,
        "action": entry.action,
        "actor": entry.actor_id,
        "team": entry.team_id,
        "target_type": entry.target_type,
        "target_code": entry.target_code,
        "ip": entry.ip or None,
        "user_agent": entry.user_agent,
        "detail": entry.detail,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(entry) -> str:
    return hashlib.sha256(entry_payload(entry)).hexdigest()
