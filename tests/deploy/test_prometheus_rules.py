"""The shipped Prometheus configuration and rules, checked and unit-tested with promtool."""

from __future__ import annotations

import re
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


def alerts() -> list[dict]:
    import yaml

    return [
        rule
        for path in sorted((DEPLOY / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def test_every_alert_says_in_chinese_who_acts_what_happened_and_where_to_act():
    for rule in alerts():
        labels, annotations = rule["labels"], rule["annotations"]
        assert labels["audience"] in {"committee", "coordinators", "operations"}, rule["alert"]
        assert labels["severity"] in {"warning", "critical"}, rule["alert"]
        for text in (annotations["summary"], annotations["description"]):
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), rule["alert"]
        # A link to where the reader acts: intake's pages, Grafana or Prometheus, from the
        # deployment's own addresses (external labels / URL), never a hard-coded host.
        assert annotations["link"].startswith(("{{ $externalLabels.", "{{ $externalURL }}")), rule["alert"]


def test_people_read_names_and_roc_periods_never_codes():
    """What the committee's and coordinators' texts print of a series is its *_name labels (the
    catalog's words, 民國115年第3季); codes serve only joins, queries and links."""
    printed = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}")
    for rule in alerts():
        if rule["labels"]["audience"] == "operations":
            continue
        text = rule["annotations"]["summary"] + rule["annotations"]["description"]
        names = printed.findall(text)
        assert names, rule["alert"]
        assert all(name.endswith("_name") for name in names), (rule["alert"], names)


def test_every_link_leads_to_a_page_that_exists(tmp_path):
    """intake's links match one of its routes, Grafana's name a shipped dashboard."""
    import json

    from services.intake import create_app
    from shared.periods import Quarter

    routes = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}", "TESTING": True}).url_map
    pages = routes.bind("dgbv.test")
    dashboards = {
        json.loads(path.read_text())["uid"]
        for path in (DEPLOY.parent / "grafana" / "dashboards").glob("*.json")
    }
    sample = {"bureau": "police", "year": "2026", "quarter": "3"}
    for rule in alerts():
        link = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: sample[m.group(1)], rule["annotations"]["link"])
        where, path = re.fullmatch(r"\{\{ \$(externalLabels\.\w+|externalURL) \}\}(/.*)", link).groups()
        if where == "externalLabels.intake_url":
            path, _, query = path.partition("?")
            endpoint, _ = pages.match(path)  # raises NotFound for a page intake does not have
            assert endpoint.startswith("web."), (rule["alert"], endpoint)
            if query:
                assert Quarter.parse(query.removeprefix("period=")) == Quarter(2026, 3), rule["alert"]
        elif where == "externalLabels.grafana_url":
            assert path.removeprefix("/d/") in dashboards, rule["alert"]
        else:
            assert where == "externalURL" and path == "/targets", rule["alert"]  # Prometheus' own page
