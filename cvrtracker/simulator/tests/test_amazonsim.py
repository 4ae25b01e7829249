"""The amazonsim management command, run as a subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from django.conf import settings


def test_it_prints_its_url_and_ca_and_stops_on_sigterm(tmp_path: Path):
    env = {**os.environ, "SIM_CA_DIR": str(tmp_path / "ca")}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "amazonsim",
            "--port",
            "0",
            "--asins",
            "5",
            "--quota",
            "relaxed",
            "--plain-http",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        second = process.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)", first).group(1)
        assert "CA certificate" in second
        with urllib.request.urlopen(url + "/_sim/", timeout=10) as answer:
            assert answer.status == 200
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=20)
        assert process.returncode == 0
        assert "Simulator stopped." in out
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_it_makes_a_ca_under_the_given_directory(tmp_path: Path):
    env = {**os.environ, "SIM_CA_DIR": str(tmp_path / "ca")}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "amazonsim", "--port", "0", "--asins", "5"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith("Amazon SP-API simulator at https://")
        assert str(tmp_path / "ca" / "ca.pem") in process.stdout.readline()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_it_takes_the_sales_and_traffic_budget_options(tmp_path: Path):
    env = {**os.environ, "SIM_CA_DIR": str(tmp_path / "ca")}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "amazonsim",
            "--port",
            "0",
            "--asins",
            "5",
            "--plain-http",
            "--st-scope",
            "app",
            "--st-other-apps-per-day",
            "40",
            "--report-queue-seconds",
            "7200",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = re.search(r"(http://127\.0\.0\.1:\d+)", process.stdout.readline()).group(1)
        lines = [process.stdout.readline() for _ in range(3)]
        assert "Sales & Traffic budget: 1 per 900 s, 96 of 96 per 86400 s, per app" in lines[-1]
        with urllib.request.urlopen(url + "/_sim/", timeout=10) as answer:
            reports = json.loads(answer.read())["reports"]
        assert reports["queueSeconds"] == 7200
        assert reports["salesTrafficBudget"]["scope"] == "app"
        assert reports["salesTrafficBudget"]["otherAppsPerDay"] == 40
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_it_refuses_to_start_without_the_api_models(tmp_path: Path):
    # Without them every SP-API call would answer 500 with nothing logged.
    env = {**os.environ, "SIM_CA_DIR": str(tmp_path / "ca"), "SPECS_DIR": str(tmp_path / "no")}
    done = subprocess.run(
        [sys.executable, "manage.py", "amazonsim", "--port", "0", "--asins", "5"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Amazon SP-API simulator at" not in done.stdout
    assert str(tmp_path / "no" / "sp-api") in done.stderr
    assert "SPECS_DIR" in done.stderr
