"""What the metrics app tells apps above it (alerts), without importing them.

Sent inside the storing transaction: a receiver that starts work does it with
`transaction.on_commit`, so nothing runs on rows that are rolled back.
"""

from django.dispatch import Signal

# Per-ASIN Sales & Traffic days were stored (a one-day report, a trailing window or a
# Data Kiosk chunk): kwargs `connection`, `marketplace_id` and `days` (sorted list).
metrics_days_stored = Signal()
