"""Dashboard side effects: every page view or export of Amazon data is audited."""

from __future__ import annotations

from django.http import HttpRequest

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.audit.services import audit_record


def dashboard_record_read(
    *,
    user,
    action: str,
    connection: SellerConnection,
    request: HttpRequest | None = None,
) -> None:
    """Write the audit entry of one read of `connection`'s Amazon data by `user`
    (`request` only gives the IP address and browser)."""
    audit_record(
        action=action, actor=user, team=connection.team, request=request, target=connection
    )
