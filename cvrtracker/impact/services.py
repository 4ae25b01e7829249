"""Store computed impacts (the computation itself lives in stats.py and compute.py)."""

from __future__ import annotations

from django.db import transaction

from cvrtracker.lib import clock
from cvrtracker.listings.models import ListingChange
from cvrtracker.metrics.keys import ConnectionKeys

from .models import ChangeImpact
from .types import Impact


def impact_store(
    *, change: ListingChange, impact: Impact, keys: ConnectionKeys | None = None
) -> ChangeImpact:
    """Create or replace the impact of `change` (recomputing is idempotent)."""
    keys = keys or ConnectionKeys(change.connection)
    row = ChangeImpact(change=change)
    payload = keys.data.encrypt_json(impact.to_json(), aad=row.aad())
    with transaction.atomic():
        row, _ = ChangeImpact.objects.update_or_create(
            change=change,
            defaults={
                "verdict": impact.verdict,
                "as_of": impact.as_of,
                "computed_at": clock.now(),
                "payload_enc": payload,
            },
        )
    return row
