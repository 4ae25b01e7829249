"""A file encrypted at rest in chunks (AES-256-GCM), written and read as a stream.

A data export can be many megabytes: it is written and read one chunk at a time, so
neither side holds the file in memory. Layout:

    MAGIC (8 bytes) | chunk* ; chunk = length (uint32, big-endian) | nonce | ciphertext+tag

Each chunk's associated data names the file, the chunk's index and whether it is
the last one, so chunks cannot be reordered, dropped or swapped with another file's,
and a file cut after any chunk (even exactly at a chunk boundary) fails to read:
the reader insists on a final chunk and on nothing after it.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cvrtracker.lib.crypto import KEY_BYTES, NONCE_BYTES, DecryptionError

MAGIC = b"CVRTSF1\n"
CHUNK_BYTES = 1024 * 1024
TAG_BYTES = 16
_LENGTH = struct.Struct(">I")


def _aad(file_id: str, index: int, final: bool) -> bytes:
    return f"cvrt:sealed-file:v1|{file_id}|{index}|{int(final)}".encode()


class SealedWriter:
    """A write-only binary stream that encrypts what it is given, CHUNK_BYTES at a time.

    close() seals the final chunk (possibly empty); a file never closed has no final
    chunk and does not read back. Has no tell() or seek(): zipfile writes to it as to
    a pipe (data descriptors after each member)."""

    def __init__(self, raw: BinaryIO, *, key: bytes, file_id: str):
        if len(key) != KEY_BYTES:
            raise ValueError("an AES-256 key has 32 bytes")
        self._raw, self._aead, self._file_id = raw, AESGCM(key), file_id
        self._buffer = bytearray()
        self._index = 0
        self.plaintext_bytes = 0
        self.closed = False
        raw.write(MAGIC)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        if self.closed:
            raise ValueError("write to a closed sealed file")
        self._buffer += data
        self.plaintext_bytes += len(data)
        while len(self._buffer) > CHUNK_BYTES:
            self._seal(bytes(self._buffer[:CHUNK_BYTES]), final=False)
            del self._buffer[:CHUNK_BYTES]
        return len(data)

    def flush(self) -> None:
        self._raw.flush()

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._raw.flush()
            self.closed = True

    def _seal(self, chunk: bytes, *, final: bool) -> None:
        nonce = os.urandom(NONCE_BYTES)
        body = self._aead.encrypt(nonce, chunk, _aad(self._file_id, self._index, final))
        self._raw.write(_LENGTH.pack(len(nonce) + len(body)) + nonce + body)
        self._index += 1


def sealed_read(raw: BinaryIO, *, key: bytes, file_id: str) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk. Raises DecryptionError when the
    file is not one, was altered, truncated, extended, or sealed under another key or id."""
    aead = AESGCM(key)
    if raw.read(len(MAGIC)) != MAGIC:
        raise DecryptionError("not a sealed file")
    index = 0
    while True:
        head = raw.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            raise DecryptionError("the file ends before its final chunk (truncated)")
        (length,) = _LENGTH.unpack(head)
        if not NONCE_BYTES + TAG_BYTES <= length <= NONCE_BYTES + CHUNK_BYTES + TAG_BYTES:
            raise DecryptionError("a chunk of impossible length")
        blob = raw.read(length)
        if len(blob) < length:
            raise DecryptionError("the file ends inside a chunk (truncated)")
        nonce, body = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        # The writer says which chunk is the last one only inside the AAD: try "not
        # final" first (every chunk but one), then "final".
        for final in (False, True):
            try:
                plain = aead.decrypt(nonce, body, _aad(file_id, index, final))
            except InvalidTag:
                continue
            break
        else:
            raise DecryptionError(f"chunk {index} rejected (altered, moved or wrong key)")
        index += 1
        if plain:
            yield plain
        if final:
            if raw.read(1):
                raise DecryptionError("data after the final chunk")
            return
