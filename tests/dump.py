"""The database as an attacker holding a copy of it would read it (the canary tests)."""

import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from django.db import connection as db


def dump_database() -> bytes:
    """Every byte an attacker holding a copy of the database would read."""
    settings_dict = db.settings_dict
    if db.vendor == "postgresql":
        env = {"PGPASSWORD": settings_dict.get("PASSWORD") or ""}
        command = [
            shutil.which("pg_dump") or "pg_dump",
            "--no-owner",
            "-h",
            settings_dict.get("HOST") or "127.0.0.1",
            "-p",
            str(settings_dict.get("PORT") or 5432),
            "-U",
            settings_dict.get("USER") or "postgres",
            settings_dict["NAME"],
        ]
        return subprocess.run(command, env=env, check=True, capture_output=True).stdout
    # SQLite (in memory for tests): the same bytes as the file, written with VACUUM INTO.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "copy.sqlite3"
        with db.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(path)])
        data = path.read_bytes()
        # And every value as text too, as `sqlite3 .dump` would show it.
        copy = sqlite3.connect(path)
        try:
            text = "\n".join(copy.iterdump()).encode()
        finally:
            copy.close()
        return data + b"\n" + text
