import pytest
from django.db import connection as db

from cvrtracker.amazon.client import TokenGrant
from cvrtracker.amazon.models import SellerConnection
from cvrtracker.amazon.services import connection_connect
from cvrtracker.lib.crypto import DecryptionError
from cvrtracker.test import BaseTestCase

CANARY_TOKEN = "Atzr|CANARY-refresh-7d1f0c"
CANARY_STORE = "CANARY Store 4b2e"


class SellerConnectionEncryptionTestCase(BaseTestCase):
    def connect(self, seller_id: str, team=None) -> SellerConnection:
        grant = TokenGrant(
            access_token="Atza|CANARY-access", expires_in=3600, refresh_token=CANARY_TOKEN
        )
        connection = connection_connect(
            team=team or self.team,
            user=self.alice,
            region="NA",
            selling_partner_id=seller_id,
            grant=grant,
        )
        connection.store_name_enc = connection.seal("store_name", CANARY_STORE)
        connection.save()
        return connection

    def raw_row(self, pk: int) -> bytes:
        with db.cursor() as cursor:
            cursor.execute("SELECT * FROM amazon_sellerconnection WHERE id = %s", [pk])
            row = cursor.fetchone()
        return b"|".join(
            bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
            for value in row
        )

    def test_no_plaintext_secret_reaches_the_database(self):
        connection = self.connect("A1CANARY")
        raw = self.raw_row(connection.pk)
        assert b"A1CANARY" in raw  # the identifier is plaintext on purpose
        for canary in (b"CANARY-refresh", b"CANARY-access", b"CANARY Store"):
            assert canary not in raw
        assert connection.unseal("refresh_token", connection.refresh_token_enc) == CANARY_TOKEN
        assert SellerConnection.objects.get().store_name == CANARY_STORE

    def test_a_ciphertext_moved_to_another_row_or_field_fails(self):
        first, second = self.connect("A1FIRST"), self.connect("A2SECOND")
        with pytest.raises(DecryptionError):
            second.unseal("refresh_token", first.refresh_token_enc)
        with pytest.raises(DecryptionError):
            first.unseal("store_name", first.refresh_token_enc)
        # Even with the right key, a wrapped key copied onto another row is refused.
        second.wrapped_data_key = first.wrapped_data_key
        with pytest.raises(DecryptionError):
            second.data_key()

    def test_destroying_the_data_key_makes_all_its_data_unreadable(self):
        connection = self.connect("A1SHRED")
        other = self.connect("A2KEEP", team=self.charlies_team)
        SellerConnection.objects.filter(pk=connection.pk).update(wrapped_data_key=None)
        connection.refresh_from_db()
        with pytest.raises(DecryptionError, match="destroyed"):
            connection.unseal("refresh_token", connection.refresh_token_enc)
        with pytest.raises(DecryptionError):
            _ = connection.store_name
        assert other.store_name == CANARY_STORE

    def test_each_connection_has_its_own_data_key(self):
        first, second = self.connect("A1FIRST"), self.connect("A2SECOND")
        assert bytes(first.wrapped_data_key) != bytes(second.wrapped_data_key)
        with pytest.raises(DecryptionError):
            second.data_key().decrypt(
                bytes(first.refresh_token_enc), aad=first.aad("refresh_token")
            )
