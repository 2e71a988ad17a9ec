"""Static checks that run with the suite, so CI refuses code ruff would refuse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_ruff_finds_no_lint_problem():
    result = ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_formatted_as_ruff_formats_it():
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lock_pins_every_runtime_dependency_of_pyproject():
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    locked = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for requirement in declared:
        name = requirement.split("[")[0].split("=")[0].split(">")[0].strip().lower().replace("_", "-")
        assert name in locked, f"{name} is not in requirements.lock (run make lock)"
        if "==" in requirement:
            assert locked[name] == requirement.split("==")[1].split()[0].strip('",'), name


# The plan's rules are the catalog's data and shared/rules.py's functions: nothing else defines them.
RULE_WORDS = (
    "REPORT_DUE_DAYS",
    "REPORT_LOCK_DAYS",
    "BEHIND_THRESHOLD",
    "SUBMITTED_STATUSES =",
    "OUTSTANDING_STATUSES =",
    "REPORTED_STATUSES",
    "due_days =",
    "lock_days =",
    "behind_threshold =",
    "def due_date",
    "def due_at",
    "def lock_at",
    "def days_late",
    "def planned_to_date",
)
RULES_HOME = {Path("shared/rules.py"), Path("shared/catalog/schema.py")}


def test_no_rule_of_the_plan_is_defined_twice():
    places = [
        ROOT / "services",
        ROOT / "shared",
        ROOT / "deploy",
        ROOT / "docker-compose.yml",
        ROOT / ".env.example",
    ]
    files = [p for place in places for p in ([place] if place.is_file() else place.rglob("*")) if p.is_file()]
    found = []
    for path in files:
        if (
            path.suffix not in (".py", ".yml", ".yaml", ".example", ".j2", ".html")
            and path.name != ".env.example"
        ):
            continue
        relative = path.relative_to(ROOT)
        if relative in RULES_HOME:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{relative}: {word}" for word in RULE_WORDS if word in text]
    assert found == []


def test_the_catalog_states_every_rule_that_shared_rules_reads():
    text = (ROOT / "shared/catalog/new_taipei_dgbv.yaml").read_text(encoding="utf-8")
    for key in ("first_quarter:", "due_days:", "lock_days:", "behind_threshold:", "goals:", "kind: caseload"):
        assert key in text, key
