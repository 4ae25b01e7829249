"""The tracker's one clock: every "now" and "today" that concerns Amazon data comes from here.

In production this is the system clock. Against the simulator it can follow
the simulator's clock (see the README), so that jumping the simulator forward
moves the tracker with it.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone


def now() -> datetime:
    """The current instant (aware, UTC)."""
    return timezone.now()


def today() -> date:
    """The current UTC date; use amazon.marketplaces.marketplace_today for a marketplace's."""
    return now().date()
