"""What the amazon app announces to the apps above it (which it must not import).

connection_stopped: calls to Amazon stopped for good for one seller connection
(a disconnect, or a revocation first seen). Sent after the transaction that
stopped it commits, with `connection` (its row, key already destroyed) and
`reason` ("disconnected" or "revoked"). The privacy app purges its data.
"""

from django.dispatch import Signal

connection_stopped = Signal()
