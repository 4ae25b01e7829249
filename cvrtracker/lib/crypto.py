"""AES-256-GCM envelope encryption for everything we keep from Amazon.

Each seller connection has its own random 256-bit data key. The data key is
stored only wrapped (encrypted) by the master key, through a `KeyProvider`: the
local one keeps the master key in the environment or a key file, and a cloud
KMS can implement the same two methods later. Destroying a connection's
wrapped data key makes every ciphertext of that connection unreadable at once,
in the live database and in every backup (crypto-shredding).

Ciphertext format (bytes, stored in BinaryFields):

    version (1 byte, 0x01) | nonce (12 bytes) | AES-GCM ciphertext and 16-byte tag

The associated data binds each ciphertext to its table, row and field, so a
value copied into another row or column fails to decrypt instead of being
silently accepted. Fernet is deliberately not used: it is AES-128.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
TAG_BYTES = 16
VERSION = b"\x01"
WRAP_VERSION = b"\x01"


class DecryptionError(Exception):
    """A ciphertext that cannot be read: tampered, moved, wrong key, or its key shredded."""


def associated_data(table: str, row: str, field: str) -> bytes:
    """The AAD that ties a ciphertext to one field of one row.

    `row` is a stable public key of the row (a UUID `code`, or a natural key such
    as "connection-code/2026-11"), known before the row is inserted.
    """
    for part in (table, row, field):
        if "|" in part:
            raise ValueError("AAD parts may not contain '|'")
    return f"cvrt:v1|{table}|{row}|{field}".encode()


def _check_key(key: bytes) -> bytes:
    if len(key) != KEY_BYTES:
        raise ValueError(f"an AES-256 key has {KEY_BYTES} bytes, not {len(key)}")
    return key


def _aead(key: bytes | AESGCM) -> AESGCM:
    # A caller that uses one key very often (the personal-data key) may pass the cipher
    # object itself: building it is a third of a small value's cost.
    return key if isinstance(key, AESGCM) else AESGCM(_check_key(key))


def _seal(key: bytes | AESGCM, plaintext: bytes, aad: bytes, version: bytes) -> bytes:
    # A random 96-bit nonce per message: with one key per connection we stay far
    # below the 2^32 messages per key where random nonces would start to collide.
    nonce = os.urandom(NONCE_BYTES)
    return version + nonce + _aead(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes | AESGCM, blob: bytes, aad: bytes, version: bytes) -> bytes:
    # Slices of a memoryview, not of the bytes: a 3 MB metric block is not copied once
    # more just to cut its nonce off.
    view = memoryview(blob).cast("B")
    if len(view) < 1 + NONCE_BYTES + 16 or view[:1] != version:
        raise DecryptionError("not a ciphertext of a known version")
    nonce, body = view[1 : 1 + NONCE_BYTES], view[1 + NONCE_BYTES :]
    try:
        return _aead(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionError("ciphertext rejected (tampered, moved or wrong key)") from None


class StreamOpener:
    """Opens one ciphertext (the format above) that arrives in pieces, without ever
    holding it whole: each piece is decrypted into one preallocated plaintext buffer
    as it comes, and the tag (the last 16 bytes) is checked at the end. Nothing of the
    plaintext is handed out before the tag has been verified (`finish`).

    For a 3 MB metric block read from the database in 1 MB pieces, this holds the
    plaintext and one piece instead of the ciphertext, the plaintext and the driver's
    3 MB copy of the ciphertext."""

    def __init__(self, key: bytes, *, size: int, aad: bytes, version: bytes = VERSION):
        if size < 1 + NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("not a ciphertext of a known version")
        self._key = _check_key(key)
        self._aad = aad
        self._version = version
        self._size = size
        self._body = size - 1 - NONCE_BYTES - TAG_BYTES
        # update_into asks for block size - 1 bytes of room beyond what it writes.
        self._out = bytearray(self._body + 15)
        self._head = bytearray()  # version and nonce, until complete
        self._tag = bytearray()
        self._done = 0  # body bytes decrypted
        self._seen = 0
        self._decryptor = None

    def feed(self, piece: bytes | bytearray | memoryview) -> None:
        """The next bytes of the ciphertext, in order."""
        view = memoryview(piece).cast("B")
        self._seen += len(view)
        if self._seen > self._size:
            raise DecryptionError("ciphertext longer than announced")
        header = 1 + NONCE_BYTES
        if len(self._head) < header:
            take = header - len(self._head)
            self._head += view[:take]
            view = view[take:]
            if len(self._head) < header:
                return
            if self._head[:1] != self._version:
                raise DecryptionError("not a ciphertext of a known version")
            self._decryptor = Cipher(
                algorithms.AES(self._key), modes.GCM(bytes(self._head[1:]))
            ).decryptor()
            self._decryptor.authenticate_additional_data(self._aad)
        body = min(len(view), self._body - self._done)
        if body:
            out = memoryview(self._out)[self._done : self._done + body + 15]
            written = self._decryptor.update_into(view[:body], out)
            self._done += written
        self._tag += view[body:]

    def finish(self) -> memoryview:
        """The plaintext (a view of the buffer), once the whole ciphertext was fed and its
        tag verified; DecryptionError otherwise (nothing of it is returned then)."""
        if self._seen != self._size or self._decryptor is None:
            raise DecryptionError("ciphertext incomplete")
        try:
            self._decryptor.finalize_with_tag(bytes(self._tag))
        except InvalidTag:
            self._out = bytearray()
            raise DecryptionError("ciphertext rejected (tampered, moved or wrong key)") from None
        return memoryview(self._out)[: self._body]


# Key providers -----------------------------------------------------------------


class KeyProvider(ABC):
    """Wraps and unwraps data keys with a master key the database never sees."""

    @abstractmethod
    def wrap(self, data_key: bytes, *, context: bytes) -> bytes:
        """The data key encrypted under the master key, bound to `context`."""

    @abstractmethod
    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        """The data key; DecryptionError if it was wrapped for another context or key."""


class LocalKeyProvider(KeyProvider):
    """A master key held by this process (from the environment or a key file).

    Wrapped keys carry the first 8 bytes of a hash of the master key that wrapped
    them, so that a rotation can tell which master key a row still needs. During a
    rotation the provider also holds the previous master key: it unwraps with
    whichever key wrapped a row, and always wraps with the current one
    (`manage.py rotate_master_key` then re-wraps every row; see the README).
    """

    def __init__(self, master_key: bytes, *, previous: bytes | None = None):
        self._key = _check_key(master_key)
        self.key_id = master_key_id(master_key)
        self._previous = None
        if previous is not None and master_key_id(previous) != self.key_id:
            self._previous = (master_key_id(previous), _check_key(previous))

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes:
        return self.key_id + _seal(self._key, _check_key(data_key), context, WRAP_VERSION)

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        wrapped = bytes(wrapped)
        if wrapped[:8] == self.key_id:
            key = self._key
        elif self._previous is not None and wrapped[:8] == self._previous[0]:
            key = self._previous[1]
        else:
            raise DecryptionError("data key wrapped by another master key")
        return _check_key(_open(key, wrapped[8:], context, WRAP_VERSION))

    def is_current(self, wrapped: bytes) -> bool:
        """Whether `wrapped` was wrapped by the current master key."""
        return bytes(wrapped)[:8] == self.key_id

    def derived_keys(self, *, info: bytes) -> list[bytes]:
        """The 256-bit keys for one purpose derived (HKDF-SHA256) from the master key:
        the current master key's first, then the previous one's during a rotation.

        For data that belongs to no seller connection (personal data, lib/fields.py):
        they have no data key of their own to wrap. Cached per provider."""
        cache = self.__dict__.setdefault("_derived", {})
        if info not in cache:
            keys = [_derive(self._key, info)]
            if self._previous is not None:
                keys.append(_derive(self._previous[1], info))
            cache[info] = keys
        return cache[info]


def _derive(master_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(
        master_key
    )


def master_key_id(master_key: bytes) -> bytes:
    return hashlib.sha256(b"cvrt-master-key-id|" + master_key).digest()[:8]


def decode_master_key(text: str) -> bytes:
    """A base64 master key (standard or URL-safe) of exactly 32 bytes."""
    text = text.strip()
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=False)
    except ValueError:
        raise ValueError("MASTER_KEY is not valid base64") from None
    return _check_key(key)


def load_or_create_key_file(path: Path) -> bytes:
    """The master key in `path`, created (mode 0600) for the embedded demo if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together cannot both write a key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
    return decode_master_key(path.read_text())


@cache
def key_provider() -> KeyProvider:
    """The configured provider: MASTER_KEY (or MASTER_KEY_FILE), else the demo key file."""
    from django.conf import settings

    previous = settings.MASTER_KEY_PREVIOUS
    previous = decode_master_key(previous) if previous else None
    if settings.MASTER_KEY:
        return LocalKeyProvider(decode_master_key(settings.MASTER_KEY), previous=previous)
    return LocalKeyProvider(
        load_or_create_key_file(Path(settings.MASTER_KEY_PATH)), previous=previous
    )


# Wrapped keys: every column that holds a data key wrapped by the master key -----
# Apps register theirs in AppConfig.ready(), so that a master-key rotation
# (manage.py rotate_master_key) re-wraps all of them without lib importing any app.


@dataclass(frozen=True)
class WrappedKeyColumn:
    model: str  # "app_label.ModelName"
    field: str
    # The row's wrap context (the associated data it was wrapped with).
    context: Callable[[Any], bytes]


_wrapped_columns: dict[tuple[str, str], WrappedKeyColumn] = {}


def wrapped_key_register(*, model: str, field: str, context: Callable[[Any], bytes]) -> None:
    _wrapped_columns[(model, field)] = WrappedKeyColumn(model, field, context)


def wrapped_key_columns() -> list[WrappedKeyColumn]:
    return list(_wrapped_columns.values())


# Data keys ----------------------------------------------------------------------


def new_data_key() -> bytes:
    """A fresh random 256-bit data key (for a new connection)."""
    return secrets.token_bytes(KEY_BYTES)


class DataKey:
    """One connection's unwrapped data key, with the encode/encrypt helpers."""

    def __init__(self, key: bytes):
        self._key = _check_key(key)

    def __repr__(self) -> str:  # never print key material
        return "<DataKey>"

    @classmethod
    def unwrap(cls, wrapped: bytes | None, *, context: bytes) -> DataKey:
        if not wrapped:
            raise DecryptionError("the data key has been destroyed")
        return cls(key_provider().unwrap(wrapped, context=context))

    def derive(self, *, info: bytes) -> bytes:
        """A 256-bit subkey for one purpose (HKDF-SHA256), such as a blind-index key.

        Subkeys are gone with the data key, and none of them reveals it.
        """
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(
            self._key
        )

    def encrypt(self, plaintext: bytes, *, aad: bytes) -> bytes:
        return _seal(self._key, plaintext, aad, VERSION)

    def decrypt(self, blob: bytes, *, aad: bytes) -> bytes:
        return _open(self._key, blob, aad, VERSION)

    def encrypt_str(self, value: str, *, aad: bytes) -> bytes:
        return self.encrypt(value.encode(), aad=aad)

    def opener(self, *, size: int, aad: bytes) -> StreamOpener:
        """A StreamOpener for a ciphertext of `size` bytes that will arrive in pieces."""
        return StreamOpener(self._key, size=size, aad=aad)

    def decrypt_str(self, blob: bytes, *, aad: bytes) -> str:
        return self.decrypt(blob, aad=aad).decode()

    def encrypt_json(self, value: Any, *, aad: bytes) -> bytes:
        return self.encrypt(json.dumps(value, separators=(",", ":")).encode(), aad=aad)

    def decrypt_json(self, blob: bytes, *, aad: bytes) -> Any:
        return json.loads(self.decrypt(blob, aad=aad))
