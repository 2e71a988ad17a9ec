"""The committed Grafana dashboards are exactly what the generator builds, in Traditional Chinese."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

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
            found += [(path.name, item["title"], t["expr"]) for t in item["targets"]]
    return found


def test_the_committed_json_is_what_the_generator_builds():
    module = generator()
    for name, build in module.BUILDERS.items():
        committed = (ROOT / "deploy/grafana/dashboards" / name).read_text(encoding="utf-8")
        assert committed == module.render(build()), f"{name} is stale: run python deploy/grafana/generate.py"


def test_the_committee_dashboard_covers_what_the_committee_watches():
    expressions = " ".join(expr for board, _, expr in dashboard_expressions() if board == "committee.json")
    for metric in (
        "dgbv:indicator_ytd_over_target:ratio",
        "dgbv_indicator_status",
        "dgbv_indicator_seasonal_target",
        "dgbv_indicator_projection",
        "dgbv_report_completeness_ratio",
        "dgbv_report_timeliness_ratio",
        "dgbv_report_days_overdue",
        "dgbv_action_progress_ratio",
        "dgbv_gbv_type_count",
    ):
        assert metric in expressions, metric


def test_titles_are_in_traditional_chinese():
    for board, title, _ in dashboard_expressions():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in title), (board, title)
