"""A fresh database for the page benchmarks (audit, usage, personal-data encryption).

    from page_database import page_database

    with page_database(prefix="audit-bench-"):
        ...  # Django is set up, the database migrated; Client() requests work

A temporary SQLite file, or, when DATABASE_URL names PostgreSQL, a test database
`test_<name>` made beside it and dropped at the end. The page views' usage events are
dropped, not written at exit to a database that is gone.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def ms(samples: list[float]) -> str:
    """Median and p95 of durations in seconds, in ms."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:6.3f} ms   p95 {p95 * 1000:6.3f} ms"


@contextmanager
def page_database(*, prefix: str) -> Iterator[None]:
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cvrtracker.settings")
    os.environ.setdefault("SPECS_DIR", str(ROOT.parent / "shared" / "specs"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    postgres = connection.vendor == "postgresql"
    if postgres:
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    else:
        call_command("migrate", verbosity=0)
    try:
        yield
    finally:
        from cvrtracker.privacy.usage import usage_discard

        usage_discard()  # the bench's page views: not to be written at exit
        if postgres:
            connection.creation.destroy_test_db(settings.DATABASES["default"]["NAME"], 0)
