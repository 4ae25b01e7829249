"""Injected faults and call counters, both per SP-API operation."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields

REPORT_OUTCOMES = ("DONE", "CANCELLED", "FATAL")


@dataclass
class Fault:
    throttle_ratio: float = 0.0  # share of calls answered 429
    error_ratio: float = 0.0  # share answered 500 or 503
    latency_ms: int = 0
    report_outcome: str = ""  # createReport: force CANCELLED or FATAL
    report_stuck: bool = False  # createReport: stays IN_QUEUE forever
    corrupt_document: bool = False  # documents: bytes that do not gunzip

    @classmethod
    def from_json(cls, data: dict) -> Fault:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - {"operation"}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        fault = cls(**{k: v for k, v in data.items() if k in known})
        if not (0 <= fault.throttle_ratio <= 1 and 0 <= fault.error_ratio <= 1):
            raise ValueError("ratios are between 0 and 1")
        if fault.report_outcome and fault.report_outcome not in REPORT_OUTCOMES:
            raise ValueError(f"report_outcome is one of {REPORT_OUTCOMES}")
        return fault


class Faults:
    """Faults by operation id; "*" applies to every operation without its own."""

    def __init__(self, seed: int):
        self._faults: dict[str, Fault] = {}
        self._random = random.Random(seed)  # noqa: S311 - reproducible, not secret
        self._lock = threading.Lock()

    def set(self, operation: str, fault: Fault) -> None:
        with self._lock:
            self._faults[operation] = fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def get(self, operation: str) -> Fault:
        return self._faults.get(operation) or self._faults.get("*") or Fault()

    def roll(self, ratio: float) -> bool:
        if ratio <= 0:
            return False
        with self._lock:
            return self._random.random() < ratio

    def as_json(self) -> dict:
        return {op: asdict(f) for op, f in self._faults.items()}


class Counters:
    """Calls per (seller, operation, outcome); seller "-" when the token named nobody."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()

    def count(self, seller_id: str | None, operation: str, outcome: str) -> None:
        with self._lock:
            self._counts[(seller_id or "-", operation, outcome)] += 1

    def as_json(self, seller_id: str | None = None) -> dict:
        out: dict[str, dict[str, dict[str, int]]] = {}
        for (seller, op, outcome), n in sorted(self._counts.items()):
            if seller_id and seller != seller_id:
                continue
            per_op = out.setdefault(seller, {}).setdefault(op, {"calls": 0})
            per_op[outcome] = per_op.get(outcome, 0) + n
            per_op["calls"] += n
        return out

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
