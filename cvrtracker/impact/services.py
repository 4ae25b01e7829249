"""Store computed impacts (the computation itself lives in stats.py and compute.py)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import transaction

from cvrtracker.amazon.marketplaces import marketplace_today
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.lib import clock
from cvrtracker.listings.models import ListingChange
from cvrtracker.metrics.keys import ConnectionKeys

from .compute import catalogue_read, events_read, measure_all
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


@dataclass(frozen=True)
class RefreshResult:
    """What one impact_refresh did: impacts stored per verdict, and how long it took."""

    stored: dict[str, int]
    changes: int
    kappa: float | None
    seconds: float


def impact_refresh(*, connection: SellerConnection, marketplace_id: str) -> RefreshResult:
    """Recompute and store the impact of every content and price change of `connection`
    in `marketplace_id` (observed and inferred) from the metrics stored now."""
    started = time.monotonic()
    keys = ConnectionKeys(connection)
    events = events_read(connection=connection, marketplace_id=marketplace_id, keys=keys)
    measured = [e for evs in events.values() for e in evs if e.measured]
    if not measured:
        return RefreshResult({}, 0, None, time.monotonic() - started)
    catalogue = catalogue_read(
        connection=connection, marketplace_id=marketplace_id, changed=set(events), keys=keys
    )
    today = marketplace_today(marketplace_id)
    changes = {
        c.pk: c
        for c in ListingChange.objects.filter(
            pk__in=[i for e in measured for i in e.change_ids]
        ).select_related("connection")
    }
    stored: dict[str, int] = {}
    for event, impact in measure_all(events, catalogue, today=today):
        for change_id in event.change_ids:
            change = changes.get(change_id)
            if change is None:
                continue
            impact_store(change=change, impact=impact, keys=keys)
            stored[impact.verdict] = stored.get(impact.verdict, 0) + 1
    return RefreshResult(
        stored,
        sum(stored.values()),
        catalogue.kappa if catalogue is not None else None,
        time.monotonic() - started,
    )
