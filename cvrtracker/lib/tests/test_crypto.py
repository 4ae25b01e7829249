import base64
import stat

import pytest

from cvrtracker.lib import crypto
from cvrtracker.lib.crypto import (
    DataKey,
    DecryptionError,
    LocalKeyProvider,
    associated_data,
    decode_master_key,
    load_or_create_key_file,
    new_data_key,
)

AAD = associated_data("amazon_sellerconnection", "row-1", "refresh_token")


def test_it_round_trips_strings_and_json():
    key = DataKey(new_data_key())
    assert key.decrypt_str(key.encrypt_str("Atzr|secret", aad=AAD), aad=AAD) == "Atzr|secret"
    payload = {"title": "Mug ☕", "bullets": ["a", "b"], "price": "19.99"}
    assert key.decrypt_json(key.encrypt_json(payload, aad=AAD), aad=AAD) == payload


def test_it_uses_256_bit_keys_and_versioned_random_nonces():
    assert len(new_data_key()) == 32
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(b"k" * 16)
    with pytest.raises(ValueError, match="32 bytes"):
        LocalKeyProvider(b"k" * 16)
    key = DataKey(new_data_key())
    first, second = key.encrypt_str("same", aad=AAD), key.encrypt_str("same", aad=AAD)
    assert first[:1] == b"\x01" and first != second
    # version + 12-byte nonce + 4 bytes of text + 16-byte tag
    assert len(first) == 1 + 12 + 4 + 16


def test_it_rejects_tampering_and_moved_ciphertexts():
    key = DataKey(new_data_key())
    blob = bytearray(key.encrypt_str("Atzr|secret", aad=AAD))
    blob[20] ^= 1
    with pytest.raises(DecryptionError):
        key.decrypt(bytes(blob), aad=AAD)
    good = key.encrypt_str("Atzr|secret", aad=AAD)
    for other in (
        associated_data("amazon_sellerconnection", "row-2", "refresh_token"),
        associated_data("amazon_sellerconnection", "row-1", "access_token"),
        associated_data("listings_snapshot", "row-1", "refresh_token"),
    ):
        with pytest.raises(DecryptionError):
            key.decrypt(good, aad=other)
    with pytest.raises(DecryptionError):
        key.decrypt(b"\x02" + good[1:], aad=AAD)


def test_it_refuses_another_connections_key():
    mine, theirs = DataKey(new_data_key()), DataKey(new_data_key())
    with pytest.raises(DecryptionError):
        theirs.decrypt(mine.encrypt_str("Atzr|secret", aad=AAD), aad=AAD)


def test_wrapped_keys_are_bound_to_master_key_and_context():
    provider = LocalKeyProvider(new_data_key())
    raw = new_data_key()
    wrapped = provider.wrap(raw, context=b"conn-1")
    assert raw not in wrapped
    assert provider.unwrap(wrapped, context=b"conn-1") == raw
    with pytest.raises(DecryptionError):
        provider.unwrap(wrapped, context=b"conn-2")
    with pytest.raises(DecryptionError):
        LocalKeyProvider(new_data_key()).unwrap(wrapped, context=b"conn-1")


def test_a_shredded_key_unwraps_to_nothing():
    with pytest.raises(DecryptionError, match="destroyed"):
        DataKey.unwrap(None, context=b"conn-1")


def test_it_reads_master_keys_in_base64_only_of_the_right_size():
    key = new_data_key()
    assert decode_master_key(base64.b64encode(key).decode()) == key
    assert decode_master_key(base64.urlsafe_b64encode(key).decode().rstrip("=")) == key
    with pytest.raises(ValueError):
        decode_master_key(base64.b64encode(b"short").decode())


def test_it_creates_the_demo_key_file_once_with_mode_0600(tmp_path):
    path = tmp_path / "var" / "master_key"
    first = load_or_create_key_file(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key_file(path) == first


def test_the_provider_prefers_the_environment_key(settings, tmp_path):
    key = new_data_key()
    settings.MASTER_KEY = base64.b64encode(key).decode()
    settings.MASTER_KEY_PATH = tmp_path / "unused"
    crypto.key_provider.cache_clear()
    try:
        provider = crypto.key_provider()
        assert provider.unwrap(LocalKeyProvider(key).wrap(key, context=b"c"), context=b"c") == key
        assert not (tmp_path / "unused").exists()
    finally:
        crypto.key_provider.cache_clear()


def test_subkeys_differ_per_purpose_and_per_data_key():
    key = DataKey(new_data_key())
    first = key.derive(info=b"cvrt:bidx:v1|order-id")
    assert len(first) == 32
    assert key.derive(info=b"cvrt:bidx:v1|order-id") == first
    assert key.derive(info=b"cvrt:bidx:v1|listing-content") != first
    assert DataKey(new_data_key()).derive(info=b"cvrt:bidx:v1|order-id") != first


def _fed(key: DataKey, blob: bytes, aad: bytes, piece: int) -> bytes:
    opener = key.opener(size=len(blob), aad=aad)
    for start in range(0, len(blob), piece):
        opener.feed(blob[start : start + piece])
    return bytes(opener.finish())


def test_a_ciphertext_fed_in_pieces_opens_as_a_whole():
    key = DataKey(new_data_key())
    text = bytes(range(256)) * 4001  # not a multiple of any piece size below
    blob = key.encrypt(text, aad=AAD)
    # Pieces cutting the header, the body and the tag anywhere, and one piece for all.
    for piece in (1, 7, 13, 14, 16, 1000, 65536, len(blob)):
        assert _fed(key, blob, AAD, piece) == text
    assert _fed(key, key.encrypt(b"", aad=AAD), AAD, 5) == b""


def test_a_ciphertext_fed_in_pieces_is_rejected_when_tampered_moved_or_cut():
    key = DataKey(new_data_key())
    blob = key.encrypt(b"x" * 100_000, aad=AAD)
    # A flipped bit in the nonce, the body or the tag.
    for at in (5, 50_000, len(blob) - 1):
        bad = bytearray(blob)
        bad[at] ^= 1
        with pytest.raises(DecryptionError):
            _fed(key, bytes(bad), AAD, 4096)
    other = associated_data("amazon_sellerconnection", "row-2", "refresh_token")
    with pytest.raises(DecryptionError):
        _fed(key, blob, other, 4096)
    with pytest.raises(DecryptionError):
        _fed(DataKey(new_data_key()), blob, AAD, 4096)
    with pytest.raises(DecryptionError):
        _fed(key, b"\x02" + blob[1:], AAD, 4096)
    # Cut short, or longer than announced.
    opener = key.opener(size=len(blob), aad=AAD)
    opener.feed(blob[:-1])
    with pytest.raises(DecryptionError):
        opener.finish()
    opener = key.opener(size=len(blob) - 1, aad=AAD)
    with pytest.raises(DecryptionError):
        opener.feed(blob)
    with pytest.raises(DecryptionError):
        key.opener(size=20, aad=AAD)
