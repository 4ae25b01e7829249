"""Signal receivers of the privacy app: the apps below it announce, privacy acts.

`amazon.signals.connection_stopped` (a disconnect, or a revocation first seen)
→ the SP-API purge (privacy/purge.py). Kept light: heavy imports stay inside
the receivers so that every web process does not pay for them at start.
"""
