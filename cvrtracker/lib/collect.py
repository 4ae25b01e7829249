"""Pausing Python's cyclic garbage collector around a burst of short-lived objects, and
giving freed memory back to the operating system after a large read."""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

_bounded: ContextVar[bool] = ContextVar("memory_bounded", default=False)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Within the block (or the decorated function), no cyclic collection runs.

    For reads that allocate tens of thousands of small acyclic containers (decoded
    JSON, ORM rows) and drop them before returning: every 2,000 allocations would
    start a collection that walks the process's objects and frees nothing, since
    reference counting frees them. Measured on the product table (5,000 products),
    those collections made the p95 twice the median. Nested uses are fine: only the
    outermost one enables the collector again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on another C library (musl, macOS)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the symbols the process has loaded
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def memory_release() -> None:
    """Give the C heap's free pages back to the operating system (glibc; a no-op elsewhere).

    glibc serves a multi-megabyte buffer from its heap once a buffer that size was freed
    (its mmap threshold grows), and keeps the freed pages: reading a 50,000-product
    seller's metric blocks, 3 MB of ciphertext and 3 MB of plaintext each, left the
    process ~7 MB larger than the blocks it held at any moment. The call itself takes
    ~0.02 ms, but pages given back fault in again when next used: call it where memory,
    not time, is the limit (the product table export)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@contextmanager
def memory_bounded() -> Iterator[None]:
    """Within the block, reads that can ask for it (metrics.services.blocks_one_at_a_time)
    give freed C heap pages back as they go (memory_release): for a download, where
    memory, not time, is the limit. A page reading the same data stays fast.

    Measured on a 50,000-product seller: a product's series download read its shard's
    3 MB month blocks and kept ~10 MB of freed heap; trimmed between blocks it keeps
    none (bench/export_memory.py)."""
    token = _bounded.set(True)
    try:
        yield
    finally:
        _bounded.reset(token)


def memory_bounded_now() -> bool:
    """Whether the caller runs inside memory_bounded()."""
    return _bounded.get()
