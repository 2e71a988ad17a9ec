"""The shipped Prometheus configuration and rules, checked and unit-tested with promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.prometheus import shipped_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: install Debian's prometheus package (.ci/run does)")
    return path


def run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_the_configuration_and_its_rule_files_are_valid(promtool, tmp_path):
    # As shipped, but with its token file and rule files where they are on this machine.
    output = run(promtool, "check", "config", str(shipped_config(tmp_path)))
    assert "SUCCESS" in output
    assert "rules found" in output


def test_the_rules_are_valid(promtool):
    assert "SUCCESS" in run(promtool, "check", "rules", *map(str, sorted((DEPLOY / "rules").glob("*.yml"))))


def test_the_rule_unit_tests_pass(promtool):
    assert "SUCCESS" in run(promtool, "test", "rules", str(DEPLOY / "tests" / "dgbv_test.yml"))


def test_every_alert_has_a_summary_in_chinese():
    import yaml

    for path in (DEPLOY / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    summary = rule["annotations"]["summary"]
                    assert any("\u4e00" <= ch <= "\u9fff" for ch in summary), rule["alert"]
