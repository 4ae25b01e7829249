"""`check --deploy` passes with a production environment, and fails without one; a site
served over https refuses to start while its Amazon settings are the simulator's."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 20 + "-production-secret-" + "y" * 30,
    "MASTER_KEY": "q3mC0mJ8bq2cQzJrj0f4cYQd1a8p0bQxv7B3vZ2xW0o=",
    "BACKUP_KEY": "Zm9yLWJhY2t1cHMtb25seS0tMzItYnl0ZXMtbG9uZyE=",
    "SITE_ROOT": "https://cvr.example.com",
    "ALLOWED_HOSTS": "cvr.example.com",
    "EMAIL_HOST": "smtp.example.com",
    "AMAZON_PRODUCTION": "1",
    "LWA_CLIENT_ID": "amzn1.application-oa2-client.0123456789abcdef",
    "LWA_CLIENT_SECRET": "amzn1.oa2-cs.v1.0123456789abcdef",
    "AMAZON_APPLICATION_ID": "amzn1.sp.solution.01234567-89ab-cdef-0123-456789abcdef",
    "DATABASE_URL": "sqlite:///:memory:",
}
# The production check as the README gives it (notes/i13-fixes.md has the README text);
# each … stands for a value of PRODUCTION_ENV.
README_COMMAND = (
    "SECRET_KEY=… MASTER_KEY=… BACKUP_KEY=… SITE_ROOT=https://cvr.example.com "
    "ALLOWED_HOSTS=cvr.example.com EMAIL_HOST=smtp.example.com AMAZON_PRODUCTION=1 "
    "LWA_CLIENT_ID=… LWA_CLIENT_SECRET=… "
    "AMAZON_APPLICATION_ID=… python manage.py check --deploy --fail-level WARNING"
)
SHOW_ENDPOINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.AMAZON_SPAPI_URLS['NA'])"
)


def clean_env(extra_env: dict[str, str]) -> dict[str, str]:
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a production check,
    # nor any Amazon setting of the environment the tests run in.
    dropped = {
        *PRODUCTION_ENV,
        "DEBUG",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "MASTER_KEY_FILE",
        "BACKUP_KEY_FILE",
        "REDIS_URL",
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in dropped and not k.startswith(("AMAZON_", "LWA_"))
    }
    env.update(extra_env, DJANGO_SETTINGS_MODULE="cvrtracker.settings")
    return env


def run(args: list[str], extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=settings.BASE_DIR,
        env=clean_env(extra_env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_check(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    args = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return run(args, extra_env)


def without(*names: str) -> dict[str, str]:
    return {k: v for k, v in PRODUCTION_ENV.items() if k not in names}


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
    result = run_check(without("MASTER_KEY"))
    assert result.returncode != 0
    assert "cvrtracker.E001" in result.stdout + result.stderr


def test_it_fails_with_a_short_master_key():
    result = run_check({**PRODUCTION_ENV, "MASTER_KEY": "c2hvcnQ="})
    assert result.returncode != 0
    assert "cvrtracker.E002" in result.stdout + result.stderr


def test_an_https_site_without_amazon_production_refuses_to_start():
    env = without("AMAZON_PRODUCTION", "LWA_CLIENT_ID", "LWA_CLIENT_SECRET")
    for args in (
        [sys.executable, "manage.py", "check", "--deploy"],
        [sys.executable, "manage.py", "db_worker", "--batch"],
        [sys.executable, "-c", SHOW_ENDPOINT],  # what the WSGI server does first
    ):
        result = run(args, env)
        assert result.returncode != 0, args
        assert "ImproperlyConfigured: SITE_ROOT is https (production)" in result.stderr
        assert "LWA_CLIENT_SECRET" in result.stderr  # the simulator's secret is named
    started = run([sys.executable, "-c", SHOW_ENDPOINT], PRODUCTION_ENV)  # the control
    assert started.stdout.strip() == "https://sellingpartnerapi-na.amazon.com"


@pytest.mark.parametrize(
    "endpoint", ["https://127.0.0.1:8100", "https://localhost:8100", "https://[::1]:8100"]
)
def test_an_https_site_refuses_a_loopback_amazon_endpoint(endpoint):
    result = run(
        [sys.executable, "-c", SHOW_ENDPOINT], {**PRODUCTION_ENV, "AMAZON_SPAPI_URL_EU": endpoint}
    )
    assert result.returncode != 0
    assert "AMAZON_SPAPI_URL_EU still point at the Amazon simulator" in result.stderr


def test_a_deliberate_https_demo_starts_but_fails_the_deploy_check():
    env = {
        **without("AMAZON_PRODUCTION", "LWA_CLIENT_ID", "LWA_CLIENT_SECRET"),
        "AMAZON_SIMULATOR_ON_HTTPS": "1",
    }
    assert run([sys.executable, "-c", SHOW_ENDPOINT], env).returncode == 0
    result = run_check(env)
    assert result.returncode != 0
    assert "cvrtracker.E005" in result.stdout + result.stderr


def test_the_deploy_check_fails_on_simulator_endpoints_over_http_too():
    env = {
        **without("AMAZON_PRODUCTION", "LWA_CLIENT_SECRET"),
        "SITE_ROOT": "http://cvr.example.com",
    }
    result = run_check(env)
    assert result.returncode != 0
    assert "cvrtracker.E005" in result.stdout + result.stderr


def test_the_deploy_check_fails_without_the_apps_credentials():
    result = run_check(without("LWA_CLIENT_SECRET", "AMAZON_APPLICATION_ID"))
    assert result.returncode != 0
    assert "cvrtracker.E006" in result.stderr
    assert "LWA_CLIENT_SECRET, AMAZON_APPLICATION_ID not set" in result.stderr


def readme_command_env(command: str) -> dict[str, str]:
    words = shlex.split(command)
    assignments = dict(
        word.split("=", 1) for word in words if "=" in word and not word.startswith("-")
    )
    return {k: PRODUCTION_ENV[k] if v == "…" else v for k, v in assignments.items()} | {
        "DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"]
    }


def test_the_readme_production_command_passes():
    assert readme_command_env(README_COMMAND) == PRODUCTION_ENV
    result = run_check(readme_command_env(README_COMMAND))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readme_gives_that_command():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    assert " ".join(README_COMMAND.split()) in " ".join(readme.replace("`", "").split())


def test_it_warns_without_a_backup_key():
    result = run_check(without("BACKUP_KEY"))
    assert result.returncode != 0
    assert "cvrtracker.W008" in result.stdout + result.stderr


def test_it_fails_on_key_files_other_accounts_can_read(tmp_path):
    key_file = tmp_path / "master_key"
    key_file.write_text(PRODUCTION_ENV["MASTER_KEY"] + "\n")
    env = {**without("MASTER_KEY"), "MASTER_KEY_FILE": str(key_file)}
    key_file.chmod(0o600)
    assert run_check(env).returncode == 0  # the control: a private file passes
    key_file.chmod(0o644)
    result = run_check(env)
    assert result.returncode != 0
    assert "cvrtracker.E007" in result.stderr and "mode 0644" in result.stderr


def test_it_warns_about_a_remote_database_or_redis_without_tls():
    remote_db = "postgres://cvr@db.example.com:5432/cvrtracker"
    result = run_check({**PRODUCTION_ENV, "DATABASE_URL": remote_db})
    assert "cvrtracker.W009" in result.stderr
    result = run_check(
        {
            **PRODUCTION_ENV,
            "DATABASE_URL": remote_db + "?sslmode=verify-full",
            "REDIS_URL": "redis://cache.example.com:6379/0",
        }
    )
    assert "cvrtracker.W009" not in result.stderr
    assert "cvrtracker.W010" in result.stderr
    result = run_check({**PRODUCTION_ENV, "REDIS_URL": "rediss://cache.example.com:6380/0"})
    assert result.returncode == 0, result.stdout + result.stderr
