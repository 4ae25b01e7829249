"""Django sessions whose data is encrypted in the database (issue 15).

Django's database sessions keep their data signed, not encrypted: base64 of a JSON
dictionary that anyone reading the table (or a dump of it) can decode, with the
user's id, a hash derived from their password hash and, when a flash message does
not fit its cookie, the message's text. This store keeps the same dictionary sealed
with AES-256-GCM under the personal-data key (lib/fields.py), as text: "pd1:" and the
base64 of the ciphertext. The associated data names the table and the column; not
the row, because Django decodes a row's data without its key (Session.get_decoded),
and a session key is no secret from whoever could move data between rows.

Sessions written before this store (signed, without the prefix) are still read, so a
deploy logs nobody out; they are sealed the next time they are saved.
"""

from __future__ import annotations

import base64
import json
import logging

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from cvrtracker.lib.crypto import DecryptionError, associated_data
from cvrtracker.lib.fields import seal, unseal

PREFIX = "pd1:"
AAD = associated_data("django_session", "*", "session_data")

logger = logging.getLogger("django.security.SuspiciousSession")


class SessionStore(DatabaseSessionStore):
    def encode(self, session_dict) -> str:
        text = json.dumps(session_dict, separators=(",", ":"))
        return PREFIX + base64.b64encode(seal(text, aad=AAD)).decode("ascii")

    def decode(self, session_data: str) -> dict:
        if not session_data.startswith(PREFIX):
            return super().decode(session_data)
        try:
            return json.loads(unseal(base64.b64decode(session_data[len(PREFIX) :]), aad=AAD))
        except (DecryptionError, ValueError):
            logger.warning("Session data could not be decrypted")
            return {}
