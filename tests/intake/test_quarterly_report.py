"""The quarterly report's assembly: kpi's answers worded for the committee, judging nothing again."""

from __future__ import annotations

import re

import pytest

from services.intake import charts, quarterly_report
from services.intake.quarterly_report import KpiFigures
from shared.catalog import default_catalog
from shared.periods import Quarter

CATALOG = default_catalog()
Q3 = Quarter(2026, 3)


def indicator(status="at_risk", **overrides) -> dict:
    """An indicator as kpi's /indicators answers it."""
    return {
        "indicator": "secret_filming_male_suspects",
        "name": "妨害秘密(偷拍行為)案男性嫌疑人人數",
        "year": 2026,
        "goal": {"kind": "continuation", "reduction": 0.03, "baseline_year": 2025, "text": "比照原方案。"},
        "baseline_year": 2025,
        "baseline": 113,
        "target": 109.61,
        "latest_quarter": 3,
        "ytd_actual": 84,
        "baseline_ytd": 84,
        "ytd_target": 81.48,
        "change_pct": 0.0,
        "status": status,
        "projection": 113.0,
        "quarters": [
            {"quarter": q, "count": c, "baseline_count": b, "seasonal_target": t}
            for q, c, b, t in (
                (1, 19, 19, 18.43),
                (2, 35, 35, 33.95),
                (3, 30, 30, 29.1),
                (4, None, 29, 28.13),
            )
        ],
        **overrides,
    }


def progress_row(action, metric, state, bureau="police", **overrides) -> dict:
    """A row of kpi's /progress."""
    return {
        "action": action,
        "bureau": bureau,
        "program": "primary",
        "metric": metric,
        "metric_name": {"sessions": "辦理場次", "cases_referred": "通報件數"}.get(metric, metric),
        "unit": "場",
        "kind": "caseload" if state == "caseload" else "output",
        "state": state,
        "planned_to_date": None if state == "caseload" else 40.5,
        "reported_to_date": 27,
        "ratio": 0.6667,
        "percent": 67,
        "previous_year_to_date": 30 if state == "caseload" else None,
        "change_pct": -10.0 if state == "caseload" else None,
        "behind": state == "behind",
        **overrides,
    }


def table(note="說明：x 表示不陳示。") -> dict:
    """A table of kpi's /tables under the small-cell rule."""
    return {
        "kind": "suspects",
        "title": "民國113年至114年新北市妨害秘密(偷拍行為)案犯罪原因―年齡別",
        "unit": "人、%",
        "label_header": "犯罪原因別",
        "columns": ["總計", "17歲以下", "18-23歲"],
        "rows": [
            {
                "label": "女性總計",
                "row_type": "total",
                "values": [33, 0, None],
                "suppressed": [False, False, True],
            },
            {
                "label": "構成比",
                "row_type": "share",
                "values": [100.0, None, None],
                "suppressed": [False, False, True],
            },
            {
                "label": "無故",
                "row_type": "cause",
                "values": [13, 0, 13],
                "suppressed": [False, False, False],
            },
        ],
        "disclosure": {"exact": False, "min_cell": 3, "suppressed_cells": 2, "note": note},
    }


def figures(**overrides) -> KpiFigures:
    found = {
        "status": {"demo_data": True, "current_quarter": "2026Q3"},
        "indicators": [indicator(), indicator("on_track", name="散播販賣陳覽猥褻物品案男性嫌疑人人數")],
        "compliance": {
            "year": 2026,
            "quarter": 3,
            "due_date": "2026-10-10",
            "due_passed": True,
            "completeness": 0.8333,
            "timeliness": 0.6667,
            "bureaus": [
                {
                    "bureau": "police",
                    "name": "警察局",
                    "status": "accepted",
                    "state": "on_time",
                    "days_overdue": 0,
                },
                {
                    "bureau": "labor",
                    "name": "勞工局",
                    "status": "draft",
                    "state": "overdue",
                    "days_overdue": 58,
                },
                {"bureau": "social", "name": "社會局", "status": "returned", "state": "late", "days_late": 3},
            ],
        },
        "compliance_history": [
            {"year": 2026, "quarter": q, "completeness": c, "timeliness": t, "due_passed": q <= 3}
            for q, c, t in ((1, 0.8333, 0.5), (2, 1.0, 1.0), (3, 0.8333, 0.6667), (4, 0.0, 0.0))
        ],
        "progress": {
            "due_passed": True,
            "threshold_percent": 90,
            "actions": [
                progress_row("1.police.1", "sessions", "behind"),
                progress_row("1.police.1", "participants", "behind"),
                progress_row("1.police.2", "sessions", "on_plan"),
                progress_row("1.education.4", "cases_referred", "caseload", bureau="education"),
            ],
        },
        "trends": [
            {
                "name": "妨害秘密(偷拍行為)案男性嫌疑人人數",
                "years": [
                    {"year": 2016, "count": 63},
                    {"year": 2017, "count": None},
                    {"year": 2025, "count": 113},
                ],
                "growth_rate_pct": 6.7123,
                "male_female_ratio_range": {"min": 3.8, "max": 7.06},
            }
        ],
        "tables": [("表一", table())],
    }
    return KpiFigures(**{**found, **overrides})


REASONS = {("police", "1.police.1"): {"delay_reason": "講師檔期延後。", "countermeasure": "下季加開場次。"}}


# -- numbers as people read them ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [(1234, "1,234"), (189.145, "189.15"), (0.125, "0.13"), (3.8, "3.80"), (113.0, "113"), (None, "—")],
)
def test_figures_are_rounded_half_up_with_thousands_separators(value, text):
    assert quarterly_report.number_text(value) == text


def test_changes_and_percentages_are_rounded_half_up():
    assert quarterly_report.change_text(-2.5) == "-2.50%"
    assert quarterly_report.change_text(13.105) == "+13.11%"
    assert quarterly_report.percent_text(0.565) == "57%"  # half-up, not to even
    assert quarterly_report.percent_text(0.8333) == "83%"
    assert quarterly_report.percent_text(None) == "—"


# -- the sections -------------------------------------------------------------------------------------
def test_an_indicator_reads_in_words_with_the_quarters_it_covers():
    line = quarterly_report.indicator_line(indicator())
    assert (line.status_label, line.through, line.baseline_label) == (
        "有未達目標之風險",
        "第1季至第3季",
        "民國114年",
    )
    assert (line.target, line.ytd_target, line.change, line.projection) == (
        "109.61",
        "81.48",
        "+0.00%",
        "113",
    )
    assert line.quarters[3] == ("第4季", None, 29, 28.13)
    assert (
        quarterly_report.indicator_line(indicator("no_data", latest_quarter=None)).through == "尚無本年資料"
    )
    assert (
        quarterly_report.indicator_line(indicator("no_goal", goal=None)).status_label == "該年未訂目標"
    )  # kpi's word (shared/rules.py)


def test_compliance_names_late_and_overdue_bureaus_with_their_days():
    lines = [quarterly_report.compliance_line(row) for row in figures().compliance["bureaus"]]
    assert [(line.bureau, line.report_status, line.state_label) for line in lines] == [
        ("警察局", "已核定", "如期送出"),
        ("勞工局", "草稿", "已逾期 58 天，尚未送出"),
        ("社會局", "已退回", "逾期 3 天送出"),
    ]


def test_actions_behind_plan_are_named_as_the_plan_does_with_the_bureaus_words_quoted():
    found = quarterly_report.assemble(CATALOG, Q3, figures(), REASONS)
    assert len(found.behind) == 1  # two metrics of one action: one entry
    item = found.behind[0]
    assert item.bureau == "警察局"
    assert item.action_label == "「初級預防－多元推廣宣導策略」第1項具體作法"
    assert item.action_text == CATALOG.action("1.police.1").text
    assert [m.name for m in item.metrics] == ["participants", "辦理場次"]
    assert (item.metrics[1].reported, item.metrics[1].planned, item.metrics[1].percent) == (
        "27",
        "40.50",
        "67%",
    )
    assert (item.delay_reason, item.countermeasure) == ("講師檔期延後。", "下季加開場次。")


def test_an_action_behind_plan_without_the_bureaus_words_shows_that_they_are_missing():
    found = quarterly_report.assemble(CATALOG, Q3, figures(), {})
    assert (found.behind[0].delay_reason, found.behind[0].countermeasure) == (None, None)


def test_caseload_metrics_are_a_trend_beside_last_year_never_a_verdict():
    found = quarterly_report.assemble(CATALOG, Q3, figures(), REASONS)
    assert [(c.bureau, c.metric, c.this_year, c.last_year, c.change) for c in found.caseload] == [
        ("教育局", "通報件數", "27", "30", "-10.00%")
    ]
    assert all(b.action_label != found.caseload[0].action_label for b in found.behind)


def test_tables_mark_withheld_cells_x_and_zero_dash_as_kpi_prints_them():
    view = quarterly_report.table_view("表一", table())
    assert view.rows == [
        ("女性總計", ["33", "-", "x"], True),
        ("構成比", ["100.00", "-", "x"], True),
        ("無故", ["13", "-", "13"], False),
    ]
    assert (view.withheld, view.note) == (2, "說明：x 表示不陳示。")


def test_compliance_history_ends_at_the_reports_quarter_and_leaves_out_quarters_not_yet_due():
    history = quarterly_report.compliance_history(figures().compliance_history, Quarter(2026, 4))
    assert history == [("115年第1季", 83.0, 50.0), ("115年第2季", 100.0, 100.0), ("115年第3季", 83.0, 67.0)]
    assert [label for label, *_ in quarterly_report.compliance_history(figures().compliance_history, Q3)][
        -1
    ] == ("115年第3季")


def test_the_report_summarises_what_the_committee_asks_first():
    found = quarterly_report.assemble(CATALOG, Q3, figures(), REASONS)
    assert found.counts == {"late_bureaus": 2, "behind_actions": 1, "indicators_off": 1}
    assert (found.completeness, found.timeliness, found.due_date) == ("83%", "67%", "115年10月10日")
    assert found.demo_data and found.kpi_current_quarter == "民國115年第3季"
    assert found.goals == [("延續目標（非原方案所訂）", "比照原方案。")]
    assert found.tables_span == "民國113年至114年"
    assert found.trend_span == "民國105年至114年"
    assert found.trends[0].growth == "年增率 6.71%"
    assert found.trends[0].ratio_range == "男性為女性的 3.80 倍至 7.06 倍"
    assert found.dark_figure_note == CATALOG.plan.dark_figure_note and "犯罪黑數" in found.dark_figure_note


def test_a_quarter_kpi_does_not_track_or_has_not_judged_yet_says_so():
    untracked = quarterly_report.assemble(CATALOG, Q3, figures(compliance=None, progress=None), {})
    assert not untracked.compliance_tracked and not untracked.judged
    assert (untracked.completeness, untracked.behind, untracked.caseload) == ("—", [], [])
    not_due = figures(progress={"due_passed": False, "threshold_percent": 90, "actions": []})
    assert not quarterly_report.assemble(CATALOG, Q3, not_due, {}).judged


def test_tables_cover_the_two_whole_years_before_the_reports_year():
    assert quarterly_report.table_years(Quarter(2022, 2)) == (2020, 2021)


# -- the charts ---------------------------------------------------------------------------------------
def test_charts_are_svg_whose_text_stays_text_and_which_the_pages_csp_allows():
    found = quarterly_report.assemble(CATALOG, Q3, figures(), REASONS)
    for svg in (
        charts.indicator_chart(found.indicators, found.indicator_year),
        charts.trend_chart(found.trends),
        charts.compliance_chart(found.compliance_history),
    ):
        assert svg.startswith('<svg role="img" aria-label="')
        assert "<text" in svg and "<path" in svg
        assert "style=" not in svg and "<style" not in svg and "<?xml" not in svg
        assert not re.search(r'id="(figure|axes|patch)_', svg)  # no clashing ids between charts
    indicators = charts.indicator_chart(found.indicators, found.indicator_year)
    assert "第1季" in indicators and "季目標" in indicators and "基準年（民國114年）" in indicators
    assert "105年" in charts.trend_chart(found.trends) and "114年" in charts.trend_chart(found.trends)


def test_the_same_figures_give_the_same_chart():
    found = quarterly_report.assemble(CATALOG, Q3, figures(), REASONS)
    assert charts.trend_chart(found.trends) == charts.trend_chart(found.trends)
