"""Which rule kinds the sync's hooks wake: listing changes wake the event rules, new
metrics days and inventory the state rules. Kept apart from evaluate.py so that the
hooks (connected in every process at start) import no statistics."""

from .models import AlertRule

Kind = AlertRule.Kind

EVENT_KINDS = (
    Kind.LISTING_CHANGED,
    Kind.LISTING_SUPPRESSED,
    Kind.LISTING_ISSUE,
    Kind.OUT_OF_STOCK,
    Kind.PRICE_CHANGED,
)
STATE_KINDS = (Kind.LOW_STOCK, Kind.BUY_BOX_LOW, Kind.SESSIONS_DROP, Kind.CONVERSION_DROP)
