"""Read stored impacts; callers resolve the connection through accounts/access.py first."""

from __future__ import annotations

from collections.abc import Iterable

from cvrtracker.amazon.models import SellerConnection
from cvrtracker.listings.models import ListingChange
from cvrtracker.metrics.keys import ConnectionKeys

from .models import ChangeImpact
from .types import Impact


def impact_for_changes(
    *,
    connection: SellerConnection,
    changes: Iterable[ListingChange],
    keys: ConnectionKeys | None = None,
) -> dict[int, Impact]:
    """{change id: Impact} for the given changes of `connection` that have one."""
    ids = [c.pk for c in changes]
    if not ids:
        return {}
    keys = keys or ConnectionKeys(connection)
    rows = ChangeImpact.objects.filter(
        change__connection=connection, change_id__in=ids
    ).select_related("change")
    return {
        row.change_id: Impact.from_json(
            keys.data.decrypt_json(bytes(row.payload_enc), aad=row.aad())
        )
        for row in rows
    }
