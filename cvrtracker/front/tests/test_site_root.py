"""The site's address follows PORT (make run, runall) unless SITE_ROOT names it."""

import json
import os
import subprocess
import sys

from django.conf import settings

SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.SITE_ROOT, s.AMAZON_REDIRECT_URI, s.CSRF_TRUSTED_ORIGINS]))"
)


def addresses(**extra: str) -> list:
    dropped = {"SITE_ROOT", "PORT", "AMAZON_REDIRECT_URI", "CSRF_TRUSTED_ORIGINS"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(extra, DJANGO_SETTINGS_MODULE="cvrtracker.settings")
    done = subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_it_follows_the_port():
    site, callback, origins = addresses(PORT="9000")
    assert site == "http://127.0.0.1:9000"
    assert callback == "http://127.0.0.1:9000/amazon/callback/"
    assert origins == ["http://127.0.0.1:9000"]


def test_it_stays_on_8000_without_a_port():
    assert addresses()[:2] == ["http://127.0.0.1:8000", "http://127.0.0.1:8000/amazon/callback/"]


def test_site_root_wins_over_the_port():
    # An https site must also talk to Amazon, not the simulator (settings.py refuses).
    site, callback, _ = addresses(
        PORT="9000", SITE_ROOT="https://cvr.example.com/", AMAZON_PRODUCTION="1"
    )
    assert site == "https://cvr.example.com"
    assert callback == "https://cvr.example.com/amazon/callback/"
