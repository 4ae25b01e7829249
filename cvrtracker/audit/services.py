"""The audit trail: services call `audit_record` explicitly for every event worth proving."""

from django.http import HttpRequest

from cvrtracker.audit.models import AuditEntry


def audit_record(
    *,
    action: str,
    request: HttpRequest | None = None,
    actor=None,
    team=None,
    target=None,
) -> AuditEntry:
    """Append one entry. `target` is any row with a public `code`; its table name is kept."""
    if request is not None and actor is None and request.user.is_authenticated:
        actor = request.user
    if team is None and actor is not None:
        membership = getattr(actor, "membership", None)
        team = membership.team if membership else None
    return AuditEntry.objects.create(
        action=action,
        actor=actor,
        team=team,
        target_type=target._meta.model_name if target is not None else "",
        target_code=str(target.code) if target is not None else "",
        ip=request.META.get("REMOTE_ADDR") if request is not None else None,
        # Header values are untrusted: keep them short and printable.
        user_agent=_printable(request.headers.get("User-Agent", ""))[:300] if request else "",
    )


def _printable(value: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in value)
