"""Benchmark: one day of Sales & Traffic for a 50,000-product seller.

Goal (issue 3): the document builds in under 2 s and under 200 MB.
Prints the build time (best of 3), the peak RSS growth of the process while
building (VmHWM from /proc, the kernel's own high-water mark) and, in a separate
run, the peak of Python allocations traced by tracemalloc. World generation (the
product index, built once per simulator start) is timed separately.

    .venv/bin/python bench/sim_report.py [--asins 50000]
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvrtracker.settings")

import django  # noqa: E402

django.setup()

from cvrtracker.simulator.reports import build_sales_and_traffic  # noqa: E402
from cvrtracker.simulator.world import World  # noqa: E402

TODAY = date(2026, 11, 29)
DAY = date(2026, 11, 20)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--asins", type=int, default=50_000)
    args = parser.parse_args()

    world = World(seed=42, asins=args.asins, today=TODAY)
    seller = world.sellers[0]
    rss_empty = _status_kb("VmRSS")
    started = time.perf_counter()
    seller.products  # noqa: B018 - builds the product index
    world_s = time.perf_counter() - started
    index_mb = (_status_kb("VmRSS") - rss_empty) / 1024

    def build() -> bytes:
        return build_sales_and_traffic(
            world,
            seller,
            start=DAY,
            end=DAY,
            date_granularity="DAY",
            asin_granularity="CHILD",
            as_of=TODAY,
        )

    build()  # warm caches the way a running simulator has them
    _reset_peak()
    rss_before = _status_kb("VmRSS")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        document = build()
        timings.append(time.perf_counter() - started)
    rss_growth_mb = (_status_kb("VmHWM") - rss_before) / 1024

    tracemalloc.start()
    build()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    best = min(timings)
    print(
        f"products: {args.asins:,}; document: {len(document) / 1e6:.2f} MB gzip, "
        f"{len(gzip.decompress(document)) / 1e6:.1f} MB JSON"
    )
    print(
        f"world generation (product index, once per start): {world_s:.2f} s, {index_mb:.0f} MB RSS"
    )
    print(
        f"one-day S&T report build: best {best:.2f} s of {', '.join(f'{t:.2f}' for t in timings)}"
        f" (goal < 2 s) -> {'OK' if best < 2 else 'OVER'}"
    )
    print(f"peak RSS growth while building: {rss_growth_mb:.1f} MB (VmHWM - VmRSS before)")
    print(
        f"peak Python allocations (tracemalloc): {traced_peak / 2**20:.1f} MB (goal < 200 MB)"
        f" -> {'OK' if max(traced_peak / 2**20, rss_growth_mb) < 200 else 'OVER'}"
    )
    print(f"process RSS now: {_status_kb('VmRSS') / 1024:.0f} MB (includes Django and the index)")


if __name__ == "__main__":
    main()
