"""ConnectionKeys: the data key unwrapped once, and the blind-index keys derived from it."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cvrtracker.lib.crypto import DecryptionError, key_provider
from cvrtracker.metrics.keys import ConnectionKeys
from cvrtracker.test import BaseTestCase

from .helpers import make_connection


class ConnectionKeysTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.connection = make_connection(self.team, self.alice)

    def test_blind_indexes_are_hkdf_then_hmac_of_the_data_key(self):
        # Stored indexes (order ids, listing digests) must keep their value
        # whatever the code that derives them looks like.
        raw = key_provider().unwrap(
            bytes(self.connection.wrapped_data_key), context=self.connection.aad("data_key")
        )
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"cvrt:bidx:v1|order-id"
        ).derive(raw)
        expected = hmac.new(key, b"111-2223334-5556667", hashlib.sha256).hexdigest()
        keys = ConnectionKeys(self.connection)
        assert keys.blind_index("order-id", "111-2223334-5556667") == expected
        assert keys.blind_index("other", "111-2223334-5556667") != expected

    def test_a_shredded_key_cannot_be_unwrapped(self):
        self.connection.wrapped_data_key = None
        with pytest.raises(DecryptionError):
            ConnectionKeys(self.connection)

    def test_it_never_prints_key_material(self):
        assert repr(ConnectionKeys(self.connection)) == "<ConnectionKeys>"
