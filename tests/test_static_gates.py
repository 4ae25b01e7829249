"""Static gates in `make test` (issue 13, point 9): bandit with no high-severity finding,
the project's semgrep rules (.semgrep/rules.yml) with no finding, and detect-secrets with
nothing beyond the committed, reviewed baseline (.secrets.baseline).

The tools live in .venv-gates (make setup; see tools/gates.txt). Each gate is run
first on the code, then on a planted sample, so a gate that cannot fail fails here.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GATES = ROOT / ".venv-gates" / "bin"

pytestmark = pytest.mark.slow


def tool(name: str) -> str:
    path = GATES / name
    assert path.exists(), f"{path} is missing: run `make setup` (it installs tools/gates.txt)"
    return str(path)


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)


def repository(path: Path) -> Path:
    """Make `path` a git repository holding its files: both tools expect one."""
    run("git", "init", "-q", ".", cwd=path)
    run("git", "add", "-A", cwd=path)
    return path


# bandit ------------------------------------------------------------------------------


def bandit_high(path: Path, cwd: Path = ROOT) -> list[dict]:
    answer = run(
        tool("bandit"),
        "-q",
        "-r",
        str(path),
        "-x",
        "*/tests/*,*/migrations/*",
        "--severity-level",
        "high",
        "-f",
        "json",
        cwd=cwd,
    )
    assert answer.stdout, answer.stderr
    return [r for r in json.loads(answer.stdout)["results"] if r["issue_severity"] == "HIGH"]


def test_bandit_finds_no_high_severity_issue():
    found = bandit_high(ROOT / "cvrtracker")
    assert found == [], [(r["filename"], r["line_number"], r["issue_text"]) for r in found]


def test_bandit_catches_a_planted_high_severity_issue(tmp_path):
    (tmp_path / "planted.py").write_text(
        "import subprocess\n\n\ndef run(command):\n"
        "    return subprocess.call(command, shell=True)\n"
    )
    assert bandit_high(tmp_path)


# semgrep -----------------------------------------------------------------------------


def semgrep(target: str, cwd: Path = ROOT) -> dict:
    answer = run(
        tool("semgrep"),
        "scan",
        "--config",
        str(ROOT / ".semgrep" / "rules.yml"),
        "--metrics=off",
        "--disable-version-check",
        # Every file under the target, tracked by git or not (a new file is checked too).
        "--no-git-ignore",
        "--quiet",
        "--json",
        target,
        cwd=cwd,
    )
    assert answer.stdout, answer.stderr
    return json.loads(answer.stdout)


def test_the_project_rules_find_nothing():
    found = semgrep("cvrtracker")
    assert found["errors"] == [], found["errors"]
    assert found["results"] == [], [
        (r["check_id"].rsplit(".", 1)[-1], r["path"], r["start"]["line"]) for r in found["results"]
    ]


PLANTED = {
    "cvrtracker/shop/views.py": (
        "from cvrtracker.listings.models import Listing\n\n\n"
        "def page(request):\n"
        "    return Listing.objects.all()\n"
    ),
    "cvrtracker/shop/fetch.py": (
        "import httpx\n\nimport cvrtracker.amazon.client\n\n\n"
        "def fetch(url):\n"
        "    httpx.get(url)\n"
        "    return cvrtracker.amazon.client.http().get(url)\n"
    ),
    "cvrtracker/shop/sql.py": (
        "def find(cursor, name):\n    cursor.execute(f\"SELECT * FROM t WHERE name = '{name}'\")\n"
    ),
}


def test_each_project_rule_catches_a_planted_violation(tmp_path):
    for path, source in PLANTED.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    found = semgrep("cvrtracker", cwd=repository(tmp_path))
    rules = {r["check_id"].rsplit(".", 1)[-1] for r in found["results"]}
    assert rules == {
        "cvrt-unscoped-queryset-in-views",
        "cvrt-outbound-http-outside-lib",
        "cvrt-spapi-call-outside-client",
        "cvrt-raw-sql-with-formatting",
    }


# detect-secrets ----------------------------------------------------------------------


def tracked_files() -> list[str]:
    listed = run("git", "ls-files", "-z").stdout.split("\0")
    # The npm lockfile is all integrity hashes; the baseline itself lists findings.
    return [f for f in listed if f and f not in ("package-lock.json", ".secrets.baseline")]


def detect_secrets(files: list[str], tmp_path: Path, cwd: Path = ROOT):
    # The hook rewrites the baseline it is given (line numbers): give it a copy.
    baseline = tmp_path / "baseline.json"
    shutil.copy(ROOT / ".secrets.baseline", baseline)
    return run(tool("detect-secrets-hook"), "--baseline", str(baseline), *files, cwd=cwd)


def test_no_secret_beyond_the_reviewed_baseline(tmp_path):
    answer = detect_secrets(tracked_files(), tmp_path)
    assert answer.returncode == 0, answer.stdout + answer.stderr


def test_detect_secrets_catches_a_planted_secret(tmp_path):
    planted = tmp_path / "settings_local.py"
    # Put together here, so that this file itself holds no secret-looking string.
    key = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq8vT3kLq2"
    planted.write_text(f'AWS_SECRET_ACCESS_KEY = "{key}"\n')
    answer = detect_secrets([planted.name], tmp_path, cwd=repository(tmp_path))
    assert answer.returncode != 0
    assert "Secret" in answer.stdout
