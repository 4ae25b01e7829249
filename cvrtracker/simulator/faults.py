"""Injected faults and call counters, both per SP-API operation."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields

REPORT_OUTCOMES = ("DONE", "CANCELLED", "FATAL")

# Outcomes the report faults API can force on the next N reports (see ReportFaults).
REPORT_FAULT_OUTCOMES = ("FATAL", "CANCELLED", "DONE_NO_DOCUMENT", "DOCUMENT_GONE", "STUCK")
# What a FATAL report's document says. Amazon documents none of these; the first is the
# wording developers quote from FATAL documents (amzn/selling-partner-api-docs#2444), the
# others are our own phrasing of causes practitioners report (docs#1264: requests made too
# often; transient failures that succeed when asked again).
FATAL_REASONS = {
    "data_unavailable": "The requested data is unavailable. Please try a different date range",
    "too_frequent": "The report was requested too often. Wait before requesting it again.",
    "internal_error": "Report processing failed because of an internal error. Try again later.",
}


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


@dataclass
class ReportFault:
    """Force the outcome of the next `count` reports (or a `ratio` of them until cleared).

    An empty report_type or seller_id matches every type or seller. `reason` is a key of
    FATAL_REASONS (FATAL only; empty = one chosen by the seeded random generator).
    `gone_after_seconds` (DOCUMENT_GONE) is how long after the report is done its document
    is still served, in simulated seconds.
    """

    outcome: str
    count: int = 1
    ratio: float = 0.0
    report_type: str = ""
    seller_id: str = ""
    reason: str = ""
    gone_after_seconds: float = 0.0

    @classmethod
    def from_json(cls, data: dict) -> ReportFault:
        names = {
            "outcome": "outcome",
            "count": "count",
            "ratio": "ratio",
            "reportType": "report_type",
            "sellerId": "seller_id",
            "reason": "reason",
            "goneAfterSeconds": "gone_after_seconds",
        }
        unknown = set(data) - set(names)
        if unknown:
            raise ValueError(f"unknown report fault fields: {sorted(unknown)}")
        fault = cls(**{names[k]: v for k, v in data.items()})
        if fault.outcome not in REPORT_FAULT_OUTCOMES:
            raise ValueError(f"outcome is one of {REPORT_FAULT_OUTCOMES}")
        if fault.ratio:
            if not 0 < fault.ratio <= 1:
                raise ValueError("ratio is between 0 and 1")
            fault.count = 0
        elif not isinstance(fault.count, int) or fault.count < 1:
            raise ValueError("count is a whole number >= 1 (or give a ratio)")
        if fault.reason and (fault.outcome != "FATAL" or fault.reason not in FATAL_REASONS):
            raise ValueError(f"reason is for FATAL only and one of {sorted(FATAL_REASONS)}")
        if not isinstance(fault.gone_after_seconds, int | float) or fault.gone_after_seconds < 0:
            raise ValueError("goneAfterSeconds is a number of seconds >= 0")
        return fault

    def matches(self, seller_id: str, report_type: str) -> bool:
        return (not self.seller_id or self.seller_id == seller_id) and (
            not self.report_type or self.report_type == report_type
        )

    def as_json(self) -> dict:
        return {
            "outcome": self.outcome,
            "count": self.count,
            "ratio": self.ratio,
            "reportType": self.report_type,
            "sellerId": self.seller_id,
            "reason": self.reason,
            "goneAfterSeconds": self.gone_after_seconds,
        }


class ReportFaults:
    """Report outcomes to force, taken in the order they were added.

    Counted faults are deterministic by construction; ratios and unnamed FATAL reasons
    come from a generator seeded with the world's seed, separate from the one of the
    HTTP faults so that one does not shift the other.
    """

    def __init__(self, seed: int):
        self._faults: list[ReportFault] = []
        self._random = random.Random(f"{seed}:report-faults")  # noqa: S311 - reproducible
        self._lock = threading.Lock()

    def add(self, fault: ReportFault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, seller_id: str, report_type: str) -> tuple[ReportFault, str] | None:
        """The fault for the next report of this seller and type, and its FATAL reason text."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(seller_id, report_type):
                    continue
                if fault.ratio:
                    if self._random.random() >= fault.ratio:
                        continue
                else:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                if fault.outcome != "FATAL":
                    return fault, ""
                reason = fault.reason or self._random.choice(sorted(FATAL_REASONS))
                return fault, FATAL_REASONS[reason]
        return None

    def as_json(self) -> list[dict]:
        return [f.as_json() for f in self._faults]


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
