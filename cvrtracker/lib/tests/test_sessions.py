"""Sessions are sealed in the database, not only signed (lib/sessions.py)."""

import base64
import zlib

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as SignedStore
from django.contrib.sessions.models import Session
from django.test import TestCase

from cvrtracker.lib.sessions import PREFIX, SessionStore


class SealedSessionTests(TestCase):
    def test_it_is_the_configured_engine(self):
        self.assertEqual(settings.SESSION_ENGINE, "cvrtracker.lib.sessions")

    def test_the_data_is_ciphertext_in_the_database_and_reads_back(self):
        store = SessionStore()
        store["note"] = "canary-session-7f3a ada@example.com"
        store.create()
        row = Session.objects.get(session_key=store.session_key)
        self.assertTrue(row.session_data.startswith(PREFIX))
        blob = base64.b64decode(row.session_data[len(PREFIX) :])
        self.assertNotIn(b"canary", blob)
        self.assertNotIn(b"example", blob)
        again = SessionStore(store.session_key)
        self.assertEqual(again["note"], "canary-session-7f3a ada@example.com")

    def test_django_signed_data_would_have_shown_the_value(self):
        # The control: what the table held before, readable without any key.
        signed = SignedStore().encode({"note": "canary-session-7f3a"})
        payload = signed.split(":")[0]
        raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload) % 4))
        if payload.startswith("."):  # compressed when that is shorter
            raw = zlib.decompress(raw)
        self.assertIn(b"canary-session-7f3a", raw)

    def test_sessions_written_before_the_change_still_read(self):
        legacy = SignedStore()
        legacy["_auth_user_id"] = "42"
        legacy.create()
        self.assertEqual(SessionStore(legacy.session_key)["_auth_user_id"], "42")

    def test_tampered_data_gives_an_empty_session(self):
        store = SessionStore()
        store["x"] = 1
        store.create()
        row = Session.objects.get(session_key=store.session_key)
        blob = bytearray(base64.b64decode(row.session_data[len(PREFIX) :]))
        blob[-1] ^= 1
        row.session_data = PREFIX + base64.b64encode(bytes(blob)).decode()
        row.save()
        with self.assertLogs("django.security.SuspiciousSession", "WARNING"):
            self.assertEqual(SessionStore(store.session_key).load(), {})
