"""`check --deploy` passes with a production environment, and fails without one."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 20 + "-production-secret-" + "y" * 30,
    "SITE_ROOT": "https://cvr.example.com",
    "ALLOWED_HOSTS": "cvr.example.com",
    "EMAIL_HOST": "smtp.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
    "MASTER_KEY": "q3mC0mJ8bq2cQzJrj0f4cYQd1a8p0bQxv7B3vZ2xW0o=",
}


def run_check(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a production check.
    dropped = {*PRODUCTION_ENV, "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "MASTER_KEY_FILE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_with_a_production_environment():
    result = run_check(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_fails_on_plain_http():
    result = run_check({**PRODUCTION_ENV, "SITE_ROOT": "http://cvr.example.com"})
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr  # no HSTS


def test_it_fails_with_debug_on():
    result = run_check({**PRODUCTION_ENV, "DEBUG": "1"})
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


def test_it_fails_without_a_master_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "MASTER_KEY"}
    result = run_check(env)
    assert result.returncode != 0
    assert "cvrtracker.E001" in result.stdout + result.stderr


def test_it_fails_with_a_short_master_key():
    result = run_check({**PRODUCTION_ENV, "MASTER_KEY": "c2hvcnQ="})
    assert result.returncode != 0
    assert "cvrtracker.E002" in result.stdout + result.stderr
