"""The packed layout of one metric block: every ASIN's daily values for one month.

A block is decrypted as one AES-GCM message and read as numpy arrays, so a
dashboard query over 5,000 ASINs costs a few decryptions and vector sums instead
of 150,000 Python objects. The plaintext layout (little-endian, fixed order):

    b"MB1" | currency (3 ASCII bytes) | n_rows (uint32) | n_days (uint32)
    int32  [N_INT, n_rows, n_days]   sessions, page views, units, order items,
                                     buy-box %, unit-session % (both in hundredths)
    int64  [n_rows, n_days]          ordered product sales in minor units
    uint8  [n_rows, n_days]          flags: PRESENT (the day was fetched for this
                                     row), PENDING (sales but no sessions yet)

Rows are sorted by ASIN and a row exists only while at least one of its days is
present, so a block's content depends only on the reports ingested, never on
their order: re-ingesting after a crash gives the same values.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAGIC = b"MB1"
_HEADER = struct.Struct("<3s3sII")

SESSIONS, PAGE_VIEWS, UNITS, ORDER_ITEMS, BUY_BOX, UNIT_SESSION = range(6)
N_INT = 6
PRESENT, PENDING = 1, 2
# Percentages are stored in hundredths of a percent: exact for Amazon's two decimals.
PERCENT_SCALE = 100

# ASIN blocks of a month are split into this many shards by a stable hash of the
# ASIN. Changing it moves ASINs between shards: it needs a migration that rebuilds
# the blocks (see migration 0002).
SHARDS = 16

I32 = np.dtype("<i4")
I64 = np.dtype("<i8")
U8 = np.dtype("u1")


@dataclass(slots=True)
class DayColumn:
    """The values of one day for a set of rows, as arrays aligned with `keys`."""

    keys: list[str]
    parents: list[str]
    ints: np.ndarray  # int32 [N_INT, len(keys)]
    sales: np.ndarray  # int64 [len(keys)]
    pending: np.ndarray  # bool [len(keys)]

    def by_shard(self) -> list[DayColumn]:
        """This column split into SHARDS columns (some empty), rows in their order."""
        if not self.keys:
            return [self] * SHARDS
        shards = shards_of(self.keys)
        keys, parents = np.array(self.keys), np.array(self.parents)
        out = []
        for shard in range(SHARDS):
            mask = shards == shard
            out.append(
                DayColumn(
                    keys=keys[mask].tolist(),
                    parents=parents[mask].tolist(),
                    ints=self.ints[:, mask],
                    sales=self.sales[mask],
                    pending=self.pending[mask],
                )
            )
        return out


class BlockData:
    """One block's decrypted content; mutate with put_day(), then encode()."""

    def __init__(
        self,
        *,
        currency: str,
        n_days: int,
        keys: list[str],
        parents: list[str],
        ints: np.ndarray,
        sales: np.ndarray,
        flags: np.ndarray,
    ):
        self.currency = currency
        self.n_days = n_days
        self.keys = keys
        self.parents = parents
        self.ints = ints
        self.sales = sales
        self.flags = flags

    @classmethod
    def empty(cls, *, n_days: int, currency: str = "") -> BlockData:
        return cls(
            currency=currency,
            n_days=n_days,
            keys=[],
            parents=[],
            ints=np.zeros((N_INT, 0, n_days), I32),
            sales=np.zeros((0, n_days), I64),
            flags=np.zeros((0, n_days), U8),
        )

    @classmethod
    def decode(cls, raw: bytes, *, keys: list[str], parents: list[str]) -> BlockData:
        magic, currency, n, days = _HEADER.unpack_from(raw)
        if magic != MAGIC or n != len(keys):
            raise ValueError("metric block layout does not match its row index")
        offset = _HEADER.size
        size = N_INT * n * days
        ints = np.frombuffer(raw, I32, size, offset).reshape(N_INT, n, days)
        offset += size * 4
        sales = np.frombuffer(raw, I64, n * days, offset).reshape(n, days)
        offset += n * days * 8
        flags = np.frombuffer(raw, U8, n * days, offset).reshape(n, days)
        return cls(
            currency=currency.decode().strip(),
            n_days=days,
            keys=keys,
            parents=parents,
            ints=ints,
            sales=sales,
            flags=flags,
        )

    def encode(self) -> bytes:
        header = _HEADER.pack(
            MAGIC, self.currency.encode().ljust(3)[:3], len(self.keys), self.n_days
        )
        return b"".join(
            (
                header,
                np.ascontiguousarray(self.ints, I32).tobytes(),
                np.ascontiguousarray(self.sales, I64).tobytes(),
                np.ascontiguousarray(self.flags, U8).tobytes(),
            )
        )

    def put_days(self, columns: Sequence[tuple[int, DayColumn]], *, currency: str) -> None:
        """Replace whole days (0-based day of month): rows missing from a column get zeros.

        A re-pulled day overwrites what an earlier pull stored, because Amazon restates.
        """
        if currency:
            self.currency = currency
        parent_of = dict(zip(self.keys, self.parents, strict=True))
        for _, column in columns:
            parent_of.update(zip(column.keys, column.parents, strict=True))
        keys = sorted(parent_of)
        self._reindex(keys)
        self.parents = [parent_of[k] for k in keys]
        lookup = np.array(keys)
        for day_index, column in columns:
            self.ints[:, :, day_index] = 0
            self.sales[:, day_index] = 0
            self.flags[:, day_index] = 0
            if not column.keys:
                continue
            rows = np.searchsorted(lookup, np.array(column.keys))
            self.ints[:, rows, day_index] = column.ints
            self.sales[rows, day_index] = column.sales
            self.flags[rows, day_index] = PRESENT | np.where(column.pending, PENDING, 0)
        self._prune()

    def merge_days(
        self, columns: Sequence[tuple[int, DayColumn]], *, owned: Sequence[str], currency: str
    ) -> None:
        """Set the `owned` rows of these days and keep every other row's values.

        A Data Kiosk trends query answers for its own ≤30 ASINs only: its days replace
        those ASINs' cells (an owned ASIN missing from a column had no activity that
        day, so its cell is cleared), and the rest of the day stays as it was.
        Running it twice gives the same block.
        """
        if currency:
            self.currency = currency
        parent_of = dict(zip(self.keys, self.parents, strict=True))
        for _, column in columns:
            if set(column.keys) - set(owned):
                raise ValueError("a merged column carries rows it does not own")
            parent_of.update(zip(column.keys, column.parents, strict=True))
        keys = sorted(parent_of)
        self._reindex(keys)
        self.parents = [parent_of[k] for k in keys]
        lookup = np.array(keys)
        present = [k for k in owned if k in parent_of]
        cleared = np.searchsorted(lookup, np.array(present)) if present else None
        for day_index, column in columns:
            if cleared is not None:
                self.ints[:, cleared, day_index] = 0
                self.sales[cleared, day_index] = 0
                self.flags[cleared, day_index] = 0
            if not column.keys:
                continue
            rows = np.searchsorted(lookup, np.array(column.keys))
            self.ints[:, rows, day_index] = column.ints
            self.sales[rows, day_index] = column.sales
            self.flags[rows, day_index] = PRESENT | np.where(column.pending, PENDING, 0)
        self._prune()

    def _reindex(self, keys: list[str]) -> None:
        if keys == self.keys:
            # Arrays decoded from a buffer are read-only: copy before writing.
            self.ints, self.sales, self.flags = (
                self.ints.copy(),
                self.sales.copy(),
                self.flags.copy(),
            )
            return
        n = len(keys)
        ints = np.zeros((N_INT, n, self.n_days), I32)
        sales = np.zeros((n, self.n_days), I64)
        flags = np.zeros((n, self.n_days), U8)
        if self.keys:
            rows = np.searchsorted(np.array(keys), np.array(self.keys))
            ints[:, rows, :] = self.ints
            sales[rows, :] = self.sales
            flags[rows, :] = self.flags
        self.keys, self.ints, self.sales, self.flags = keys, ints, sales, flags

    def _prune(self) -> None:
        keep = self.flags.any(axis=1)
        if keep.all():
            return
        self.keys = [k for k, kept in zip(self.keys, keep, strict=True) if kept]
        self.parents = [p for p, kept in zip(self.parents, keep, strict=True) if kept]
        self.ints = self.ints[:, keep, :]
        self.sales = self.sales[keep, :]
        self.flags = self.flags[keep, :]


def shard_of(asin: str) -> int:
    """The shard of an ASIN's rows: stable across processes and Python versions."""
    return zlib.crc32(asin.encode()) % SHARDS


def shards_of(keys: Sequence[str]) -> np.ndarray:
    return np.fromiter((zlib.crc32(k.encode()) for k in keys), np.uint32, len(keys)) % SHARDS


def percent_to_hundredths(values: Sequence[float]) -> np.ndarray:
    return np.rint(np.asarray(values, dtype=np.float64) * PERCENT_SCALE).astype(I32)
