import io
import os

import pytest

from cvrtracker.lib.crypto import DecryptionError, new_data_key
from cvrtracker.privacy import sealed_file
from cvrtracker.privacy.sealed_file import MAGIC, SealedWriter, sealed_read


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(sealed_file, "CHUNK_BYTES", 64)


def seal(data: bytes, key: bytes, file_id: str = "export-1") -> bytes:
    raw = io.BytesIO()
    writer = SealedWriter(raw, key=key, file_id=file_id)
    for start in range(0, len(data), 50):  # writes that straddle chunk boundaries
        writer.write(data[start : start + 50])
    writer.close()
    return raw.getvalue()


def read(blob: bytes, key: bytes, file_id: str = "export-1") -> bytes:
    return b"".join(sealed_read(io.BytesIO(blob), key=key, file_id=file_id))


def chunks_of(blob: bytes) -> list[bytes]:
    out, at = [], len(MAGIC)
    while at < len(blob):
        length = int.from_bytes(blob[at : at + 4], "big")
        out.append(blob[at : at + 4 + length])
        at += 4 + length
    return out


def test_it_reads_back_what_was_written_over_many_chunks():
    key, data = new_data_key(), os.urandom(64 * 5 + 17)
    blob = seal(data, key)
    assert len(chunks_of(blob)) == 6
    assert read(blob, key) == data
    assert data[:32] not in blob


def test_an_empty_file_reads_back_empty():
    key = new_data_key()
    assert read(seal(b"", key), key) == b""


def test_a_file_cut_at_a_chunk_boundary_is_refused():
    key = new_data_key()
    blob = seal(os.urandom(64 * 3), key)
    chunks = chunks_of(blob)
    with pytest.raises(DecryptionError, match="truncated"):
        read(MAGIC + b"".join(chunks[:-1]), key)


def test_a_file_cut_inside_a_chunk_is_refused():
    key = new_data_key()
    blob = seal(os.urandom(200), key)
    with pytest.raises(DecryptionError, match="truncated"):
        read(blob[:-5], key)


def test_reordered_chunks_are_refused():
    key = new_data_key()
    chunks = chunks_of(seal(os.urandom(64 * 3), key))
    chunks[0], chunks[1] = chunks[1], chunks[0]
    with pytest.raises(DecryptionError, match="chunk 0"):
        read(MAGIC + b"".join(chunks), key)


def test_a_flipped_bit_is_refused():
    key = new_data_key()
    blob = bytearray(seal(os.urandom(100), key))
    blob[-3] ^= 1
    with pytest.raises(DecryptionError):
        read(bytes(blob), key)


def test_another_key_or_file_is_refused():
    key = new_data_key()
    blob = seal(b"hello", key)
    with pytest.raises(DecryptionError):
        read(blob, new_data_key())
    with pytest.raises(DecryptionError):
        read(blob, key, file_id="export-2")


def test_data_after_the_final_chunk_is_refused():
    key = new_data_key()
    blob = seal(b"hello", key)
    with pytest.raises(DecryptionError, match="after the final chunk"):
        read(blob + blob[len(MAGIC) :], key)


def test_a_file_never_closed_does_not_read():
    key, raw = new_data_key(), io.BytesIO()
    writer = SealedWriter(raw, key=key, file_id="export-1")
    writer.write(os.urandom(200))
    with pytest.raises(DecryptionError, match="truncated"):
        read(raw.getvalue(), key)
