"""Which listing changes the impact measurement covers.

Kept apart from compute.py (numpy, the metrics history readers) so that the pages
and the sync can ask "is this change measured?" without loading the measurement.
"""

from __future__ import annotations

from cvrtracker.listings.models import ListingChange

Field = ListingChange.Field
Source = ListingChange.Source

CONTENT_FIELDS = (Field.TITLE, Field.BULLET, Field.DESCRIPTION, Field.MAIN_IMAGE, Field.IMAGE)
MEASURED_FIELDS = (*CONTENT_FIELDS, Field.PRICE)
MEASURED_SOURCES = (Source.OBSERVED, Source.INFERRED)


def change_is_measured(change: ListingChange) -> bool:
    """Whether impact_refresh measures this kind of change (pages tell "not computed
    yet" from "not measured" with it)."""
    return change.field in MEASURED_FIELDS and change.source in MEASURED_SOURCES
