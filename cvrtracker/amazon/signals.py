"""What the amazon app announces to the apps above it (which it must not import).

connection_stopped: calls to Amazon stopped for good for one seller connection
(a disconnect, or a revocation first seen). Sent after the transaction that
stopped it commits, with `connection` (its row, key already destroyed) and
`reason` ("disconnected", "revoked" or "account_deleted"). The privacy app purges its data.
"""

from django.dispatch import Signal

connection_stopped = Signal()

# connection_replaced: the seller reconnects while its stopped connection still waits
# for the purge. Sent synchronously with `connection`; a receiver must purge it before
# returning (privacy/receivers.py), so that the new connection starts from an empty
# history under a new key. connection_connect refuses to go on if the row remains.
connection_replaced = Signal()
