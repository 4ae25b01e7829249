"""What the listings app tells apps above it (alerts), without importing them.

Sent inside the storing transaction: a receiver that starts work does it with
`transaction.on_commit`, so nothing runs on rows that are rolled back.
"""

from django.dispatch import Signal

# New ListingChange rows were stored (listing_changes_store): kwargs `connection`,
# `marketplace_ids` (sorted list) and `count` (how many were new).
listing_changes_stored = Signal()

# Inventory quantities were stored (FBA summaries or merchant quantities): kwargs
# `connection` and `marketplace_id`.
inventory_stored = Signal()
