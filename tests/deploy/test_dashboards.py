"""The committed Grafana dashboards are exactly what the generator builds, in Traditional Chinese."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from shared.catalog import default_catalog

ROOT = Path(__file__).resolve().parents[2]


def generator():
    spec = importlib.util.spec_from_file_location("generate_dashboards", ROOT / "deploy/grafana/generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dashboard_expressions() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, PromQL) for every query of every committed dashboard."""
    found = []
    for path in sorted((ROOT / "deploy/grafana/dashboards").glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        for item in board["panels"]:
            found += [(path.name, item["title"], t["expr"]) for t in item.get("targets", [])]
    return found


def test_the_committed_json_is_what_the_generator_builds():
    module = generator()
    for name, build in module.BUILDERS.items():
        committed = (ROOT / "deploy/grafana/dashboards" / name).read_text(encoding="utf-8")
        assert committed == module.render(build()), f"{name} is stale: run python deploy/grafana/generate.py"


def test_the_committee_dashboard_covers_what_the_committee_watches():
    expressions = " ".join(expr for board, _, expr in dashboard_expressions() if board == "committee.json")
    for metric in (
        "dgbv_demo_data",
        "dgbv_current_period",
        "dgbv_indicator_ytd",
        "dgbv_indicator_ytd_target",
        "dgbv_indicator_status",
        "dgbv_indicator_projection",
        "dgbv_indicator_count",
        "dgbv_trend_count",
        "dgbv_trend_growth_rate_pct",
        "dgbv_trend_male_female_ratio",
        "dgbv_report_completeness_ratio",
        "dgbv_report_timeliness_ratio",
        "dgbv_report_submitted",
        "dgbv_report_days_late",
        "dgbv_report_days_overdue",
        "dgbv_report_open_gap",
        "dgbv_action_progress_ratio",
        "dgbv_action_behind",
        "dgbv_action_info",
        "dgbv_action_caseload_ytd",
        "dgbv_gbv_type_count",
    ):
        assert metric in expressions, metric


def test_titles_are_in_traditional_chinese():
    for board, title, _ in dashboard_expressions():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in title), (board, title)


def committee_board() -> dict:
    return json.loads((ROOT / "deploy/grafana/dashboards/committee.json").read_text(encoding="utf-8"))


def test_the_year_and_quarter_variables_come_from_the_current_period_and_show_names():
    variables = {v["name"]: v for v in committee_board()["templating"]["list"]}
    assert list(variables) == ["year", "quarter", "bureau"]
    assert "dgbv_current_period" in variables["year"]["definition"]
    for variable in variables.values():
        assert variable["refresh"] == 1  # read on every load: the default follows the current period
        assert "(?<text>" in variable["regex"] and "(?<value>" in variable["regex"]
    assert '_name="(?<text>' in variables["year"]["regex"]


def test_people_read_names_never_codes():
    """Legends and columns use kpi's *_name labels, never a code label (README "KPI metrics")."""
    codes = (
        "indicator",
        "bureau",
        "program",
        "action",
        "metric",
        "goal",
        "status",
        "type",
        "role",
        "sex",
        "year",
        "quarter",
    )
    for item in committee_board()["panels"]:
        for t in item.get("targets", []):
            for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", t["legendFormat"]):
                assert label not in codes, (item["title"], label)
        for step in item.get("transformations", []):
            for field in step["options"].get("renameByName", {}):
                assert field.split("\\")[0] not in codes, (item["title"], field)


def test_the_operations_legends_name_services_and_rules_never_their_codes():
    """`job`, `service` and `rule` are codes: the legends read `service_name` (shared.observability's
    SERVICE_NAMES, put on by the query) and `rule_name` (notify's metrics, the e-mails' words)."""
    board = json.loads((ROOT / "deploy/grafana/dashboards/operations.json").read_text(encoding="utf-8"))
    legends = [t["legendFormat"] for item in board["panels"] for t in item.get("targets", [])]
    labels = {label for legend in legends for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", legend)}
    assert labels == {"service_name", "rule_name"}
    for legend in legends:
        assert not re.search(r"[A-Za-z]", re.sub(r"\{\{\s*\w+_name\s*\}\}", "", legend)), legend


def test_the_down_alerts_name_the_services_as_the_operations_dashboard_does():
    from shared.observability import SERVICE_NAMES

    rules = (ROOT / "deploy/prometheus/rules/dgbv.yml").read_text(encoding="utf-8")
    for code, name in SERVICE_NAMES.items():
        assert f'summary: "{name}（{code}）已連續' in rules, code


def test_thresholds_come_from_the_catalog():
    module = generator()
    catalog = default_catalog()
    board = module.committee(catalog)
    goal = next(g for g in catalog.goals if g.is_plans_own)
    progress = [p for p in board["panels"] if p["title"].startswith("各局處執行進度")][0]
    steps = progress["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[1]["value"] == float(catalog.reporting.behind_threshold)
    ratio = [p for p in board["panels"] if p["title"].startswith("今年累計 ÷ 季節性目標")][0]
    steps = ratio["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[2]["value"] == pytest.approx(float(1 / (1 - goal.reduction)), abs=1e-5)

    # Another catalog, other thresholds: nothing is typed into the generator.
    stricter = dataclasses.replace(
        catalog, reporting=dataclasses.replace(catalog.reporting, behind_threshold=Decimal("0.75"))
    )
    board = module.committee(stricter)
    progress = [p for p in board["panels"] if p["title"].startswith("各局處執行進度")][0]
    assert progress["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.75


def test_the_dark_figure_caveat_stands_beside_the_counts():
    panels = committee_board()["panels"]
    caveat = [p for p in panels if p["type"] == "text"]
    assert caveat and "犯罪黑數" in caveat[0]["options"]["content"]
    assert "未報案" in caveat[0]["options"]["content"]
    for item in panels:
        exprs = " ".join(t["expr"] for t in item.get("targets", []))
        if "dgbv_trend_count" in exprs or "dgbv_indicator_count" in exprs or "dgbv_gbv_type_count" in exprs:
            assert "犯罪黑數" in item["description"], item["title"]
