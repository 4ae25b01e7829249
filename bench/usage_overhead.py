"""Usage-data overhead per request: what recording a signed-in page view costs it.

    .venv/bin/python bench/usage_overhead.py [--requests 1000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cvrtracker \
        .venv/bin/python bench/usage_overhead.py

On a fresh database (a temporary SQLite file, or a test database `test_<name>` made
beside DATABASE_URL's and dropped at the end), a signed-in user requests Settings →
Privacy through Django's test client, with the whole middleware stack, alternately
with UsageMiddleware in it and with it removed from MIDDLEWARE (two clients, each
built with its own stack). The batch is written from the response's close(), which
the test client calls before it returns, so the "with" figures include each 50th
request's INSERT (spread over the batch): a real WSGI server sends the page first.

Printed: mean and median per request with and without the middleware, their
difference, and the middleware's own time (noting each event, plus the batched
writes divided over the requests).

Goal (issue 12, item 6): recording must not slow requests (well under 1 ms).
"""

from __future__ import annotations

import argparse
import statistics
import time

from page_database import page_database

MIDDLEWARE = "cvrtracker.privacy.usage.UsageMiddleware"


def figures(samples: list[float]) -> str:
    mean = statistics.fmean(samples) * 1000
    median = statistics.median(samples) * 1000
    return f"mean {mean:7.3f} ms   median {median:7.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()

    with page_database(prefix="usage-bench-"):
        run(args.requests)


def run(requests: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    import cvrtracker.privacy.usage as usage
    from cvrtracker.privacy.models import UsageEvent
    from cvrtracker.test import make_user

    user = make_user("bench@example.org")
    url = "/settings/privacy/"
    with_usage = Client()
    with_usage.force_login(user)
    without_usage = Client()
    without_usage.force_login(user)
    stack = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    assert len(stack) == len(settings.MIDDLEWARE) - 1
    # Each test client builds its middleware chain at its first request and keeps it.
    with override_settings(MIDDLEWARE=stack):
        assert without_usage.get(url).status_code == 200

    spent: dict[str, list[float]] = {"note": [], "flush": []}
    real_note, real_flush = usage.usage_note, usage.usage_flush

    def timed(function, kind: str):
        def wrapper(**kwargs):
            started = time.perf_counter()
            try:
                return function(**kwargs)
            finally:
                spent[kind].append(time.perf_counter() - started)

        return wrapper

    usage.usage_note, usage.usage_flush = timed(real_note, "note"), timed(real_flush, "flush")
    try:
        for _ in range(50):  # warm up: imports, template cache, connection
            assert with_usage.get(url).status_code == 200
            assert without_usage.get(url).status_code == 200
        usage.usage_flush()
        spent["note"].clear()
        spent["flush"].clear()
        before = UsageEvent.objects.count()
        timings_with, timings_without = [], []
        for _ in range(requests):
            started = time.perf_counter()
            assert with_usage.get(url).status_code == 200
            timings_with.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert without_usage.get(url).status_code == 200
            timings_without.append(time.perf_counter() - started)
        note = sum(spent["note"]) / requests
        flushes = list(spent["flush"])
        usage.usage_flush()
    finally:
        usage.usage_note, usage.usage_flush = real_note, real_flush
    written = UsageEvent.objects.count() - before
    mean_with, mean_without = statistics.fmean(timings_with), statistics.fmean(timings_without)
    median_with = statistics.median(timings_with)
    median_without = statistics.median(timings_without)
    print(
        f"database: {connection.vendor}; {requests} requests of {url} per variant; "
        f"batches of {settings.USAGE_FLUSH_EVENTS} events or {settings.USAGE_FLUSH_SECONDS:g} s"
    )
    print(f"  with UsageMiddleware      {figures(timings_with)}")
    print(f"  without UsageMiddleware   {figures(timings_without)}")
    print(
        f"  difference                mean {(mean_with - mean_without) * 1000:+7.3f} ms   "
        f"median {(median_with - median_without) * 1000:+7.3f} ms"
    )
    print(f"  noting one event          mean {note * 1000:7.3f} ms per request")
    if flushes:
        print(
            f"  one batched write         mean {statistics.fmean(flushes) * 1000:7.3f} ms "
            f"({len(flushes)} writes, {sum(flushes) / requests * 1000:.3f} ms per request, "
            "after the response in a real server)"
        )
    print(f"  events written: {written}")


if __name__ == "__main__":
    main()
