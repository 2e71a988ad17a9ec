"""Every panel of the committee's dashboard, as a real Prometheus answers it from the real services
loaded with demo data: the series the panel means to show, named in Chinese with ROC years, as
many as it should have, and the same figures as kpi's API.

Grafana cannot run here: tests/helpers/dashboards.py does what Grafana does between Prometheus and
the screen (variables, queries, transformations), and docs/screenshots/ shows the result.
"""

from __future__ import annotations

import re

import pytest

from services.kpi.collector import action_name
from shared.catalog import default_catalog
from shared.periods import Quarter, roc_year_label
from shared.rules import CASE_SEX_NAMES, INDICATOR_STATUS_NAMES
from tests.helpers import dashboards
from tests.helpers.live import PrometheusMissing, demo_deployment

CATALOG = default_catalog()
CODES = re.compile(
    "|".join(
        re.escape(code)
        for code in [
            *(b.id for b in CATALOG.bureaus),
            *(i.id for i in CATALOG.indicators),
            *(a.id for a in CATALOG.actions),
            "on_track",
            "at_risk",
            "off_track",
            "suspect",
            "victim",
        ]
    )
)
ROC_YEAR = re.compile(r"^民國\d{2,3}年$")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    try:
        with demo_deployment(tmp_path_factory.mktemp("panels")) as running:
            yield running
    except PrometheusMissing as missing:
        pytest.fail(str(missing))  # never a skip: CI installs it (.ci/run)


@pytest.fixture(scope="module")
def committee(deployment):
    board = dashboards.board("committee.json")
    values, offered = dashboards.default_values(board, deployment.query)
    views = {
        p["title"]: dashboards.render(p, deployment.query, values) for p in dashboards.data_panels(board)
    }
    return values, offered, views


def view(views, words: str) -> dashboards.View:
    (found,) = [v for title, v in views.items() if words in title]
    return found


def column(found: dashboards.View, name: str) -> list:
    return [row[found.columns.index(name)] for row in found.rows]


def by_first_column(found: dashboards.View) -> dict[str, list]:
    return {row[0]: row[1:] for row in found.rows}


def test_the_variables_default_to_the_current_reporting_period_and_offer_names(deployment, committee):
    values, offered, _ = committee
    status = deployment.kpi_json("/api/v1/status")
    current = Quarter.parse(status["current_quarter"])
    assert values["year"] == str(current.year)
    assert values["quarter"] == str(current.quarter)
    assert values["bureau"] == ".*"  # 全部局處
    assert offered["year"][0].text == roc_year_label(current.year)
    assert all(ROC_YEAR.match(option.text) for option in offered["year"])
    assert len(offered["year"]) == len({o.value for o in offered["year"]}) > 5  # history can be chosen
    assert offered["quarter"][0].text == current.label_zh
    assert [o.text for o in offered["quarter"]] == [q.label_zh for q in reversed(current.year_to_date())]
    assert {(o.value, o.text) for o in offered["bureau"]} == {(b.id, b.name) for b in CATALOG.bureaus}


def test_every_panel_shows_series_named_in_chinese_and_never_a_code(committee):
    _, _, views = committee
    assert len(views) >= 15
    for title, found in views.items():
        assert dashboards.has_chinese(title), title
        assert not found.empty or found.no_value, f"{title}: nothing to show and no message saying so"
        texts = [str(c) for c in found.columns] + list(found.series)
        texts += [cell for row in found.rows for cell in row if isinstance(cell, str)]
        for text in texts:
            assert not CODES.search(text), (title, text)
            assert not re.search(r"\b20\d\d\b", text), (title, text)  # ROC years only
        for name in found.columns[1:] + list(found.series):
            assert dashboards.has_chinese(name), (title, name)
        assert len(found.series) <= 8, title  # a person can read each series
        if found.kind != "table":
            assert len(found.columns) <= 1 + 4, (title, found.columns)


def test_the_indicators_come_first_three_rows_for_the_chosen_year_as_kpi_judges_them(deployment, committee):
    values, _, views = committee
    items = {i["name"]: i for i in deployment.kpi_json("/api/v1/indicators", year=values["year"])}
    table = view(views, "三項成效指標：今年累計")
    assert len(table.rows) == 3 == len(CATALOG.indicators)
    assert table.columns[0] == "成效指標"
    for name, cells in by_first_column(table).items():
        item = items[name]
        row = dict(zip(table.columns[1:], cells, strict=True))
        assert row["今年累計"] == item["ytd_actual"]
        assert row["年底推估"] == item["projection"]
        assert row["全年目標"] == item["target"]
        assert row["狀態"] == INDICATOR_STATUS_NAMES[item["status"]]
        assert row[next(c for c in table.columns if c.startswith("季節性目標"))] == item["ytd_target"]
    ratio = view(views, "今年累計 ÷ 季節性目標")
    assert set(ratio.series) == set(items)
    for name, value in ratio.series.items():
        assert value == pytest.approx(items[name]["ytd_actual"] / items[name]["ytd_target"])


def test_the_trends_are_the_seeds_charts_from_roc_105(deployment, committee):
    _, _, views = committee
    status = deployment.kpi_json("/api/v1/status")
    first, last = CATALOG.plan.history_first_year, status["current_year"] - 1
    span = [roc_year_label(y) for y in range(first, last + 1)]
    yearly = view(views, "三項成效指標歷年人數")
    assert column(yearly, yearly.columns[0]) == span  # every full year from 民國105年, in order
    assert set(yearly.columns[1:]) == {i.name for i in CATALOG.indicators}
    categories = {c.id: c.name for c in CATALOG.crime_categories}
    growth = view(views, "年增率")
    growth_rows = {(row[0], row[1]): row for row in growth.rows}
    for indicator in CATALOG.indicators:
        trend = deployment.kpi_json("/api/v1/trends", indicator=indicator.id)
        counts = {roc_year_label(y["year"]): y["count"] for y in trend["years"]}
        assert (
            dict(zip(column(yearly, yearly.columns[0]), column(yearly, indicator.name), strict=True))
            == counts
        )
        by_sex = view(
            views,
            f"{categories[indicator.category]}案{'嫌疑人' if indicator.role == 'suspect' else '被害人'}人數—依性別",
        )
        assert column(by_sex, by_sex.columns[0]) == span
        assert set(by_sex.columns[1:]) == set(CASE_SEX_NAMES.values())
        for sex, sex_name in CASE_SEX_NAMES.items():
            assert column(by_sex, sex_name) == [y[sex] for y in trend["years"]]
            rate = trend["growth_rate_pct_by_sex"][sex]
            if rate is not None:
                row = growth_rows[(indicator.name, sex_name)]
                assert row[2] == f"{span[0]}至{span[-1].removeprefix('民國')}"
                assert row[3] == pytest.approx(rate)
    ratios = view(views, "男性為女性的倍數")
    assert set(ratios.columns[1:]) == {i.name for i in CATALOG.indicators}
    assert len(ratios.rows) == len(span)


def test_compliance_of_the_chosen_quarter_one_row_per_bureau_and_open_gaps_apart_from_history(
    deployment, committee
):
    values, _, views = committee
    year, quarter = int(values["year"]), int(values["quarter"])
    compliance = deployment.kpi_json("/api/v1/compliance", year=year, quarter=quarter)
    rates = view(views, "填報完整率與準時率")
    label = Quarter(year, quarter).label_zh
    assert rates.series == {
        f"完整率（{label}）": compliance["completeness"],
        f"準時率（{label}）": compliance["timeliness"],
    }

    table = view(views, "各局處填報情形")
    assert table.columns == ["局處", "繳交情形", "遲交天數", "逾期未繳天數"]
    assert [row[0] for row in table.rows] and {row[0] for row in table.rows} == {
        b.name for b in CATALOG.bureaus
    }
    rows = by_first_column(table)
    for bureau in compliance["bureaus"]:
        shown, late, overdue = rows[bureau["name"]]
        assert shown == ("已繳交" if bureau["submitted"] else "未繳交")
        assert late == bureau["days_late"]
        assert overdue == bureau["days_overdue"]

    tracked = [Quarter(q["year"], q["quarter"]) for q in deployment.kpi_json("/api/v1/compliance/all")]
    every = {q: deployment.kpi_json("/api/v1/compliance", year=q.year, quarter=q.quarter) for q in tracked}
    gaps = view(views, "尚可補繳的缺漏")
    expected_open = {
        (b["name"], q.label_zh, b["days_overdue"])
        for q, doc in every.items()
        for b in doc["bureaus"]
        if doc["due_passed"] and b["state"] == "overdue" and not b["locked"]
    }
    assert expected_open, "the demo data and the reopening leave a gap someone can still close"
    assert {tuple(row) for row in gaps.rows} == expected_open
    history = view(views, "已鎖定之逾期未繳紀錄")
    expected_closed = {
        (b["name"], q.label_zh, b["days_overdue"])
        for q, doc in every.items()
        if q.year == year
        for b in doc["bureaus"]
        if b["state"] == "overdue" and b["locked"]
    }
    assert {tuple(row) for row in history.rows} == expected_closed
    assert not expected_open & expected_closed
    late = view(views, "遲交紀錄")
    assert {tuple(row) for row in late.rows} == {
        (b["name"], q.label_zh, b["days_late"])
        for q, doc in every.items()
        if q.year == year
        for b in doc["bureaus"]
        if b["days_late"]
    }


def test_actions_behind_plan_by_bureau_with_the_catalogs_numbering_and_text(deployment, committee):
    _, _, views = committee
    progress = deployment.kpi_json("/api/v1/progress")
    names = {b.id: b.name for b in CATALOG.bureaus}
    bars = view(views, "各局處執行進度")
    assert bars.series == {
        names[b["bureau"]]: pytest.approx(b["ratio"], abs=0.00006)
        for b in progress["bureaus"]
        if b["ratio"] is not None
    }
    behind = view(views, "進度落後的具體作法")
    assert behind.columns == ["局處", "具體作法", "指標", "進度", "具體作法內容"]
    expected = {
        (
            names[row["bureau"]],
            action_name(CATALOG, CATALOG.action(row["action"])),
            row["metric_name"],
            CATALOG.action(row["action"]).text,
        )
        for row in progress["actions"]
        if row["behind"]
    }
    assert expected, "the demo data has an action behind plan"
    assert {(r[0], r[1], r[2], r[4]) for r in behind.rows} == expected
    assert all(r[3] < float(CATALOG.reporting.behind_threshold) for r in behind.rows)

    caseload = view(views, "案件量")
    year = progress["year"]
    assert set(caseload.columns[1:]) == {roc_year_label(year), roc_year_label(year - 1)}
    rows = [r for r in progress["actions"] if r["state"] == "caseload"]
    assert len(caseload.rows) == len(rows)
    shown = by_first_column(caseload)
    for row in rows:
        action = CATALOG.action(row["action"])
        key = f"{action_name(CATALOG, action).split('：')[0]} {row['metric_name']}"
        cells = dict(zip(caseload.columns[1:], shown[key], strict=True))
        assert cells[roc_year_label(year)] == row["reported_to_date"]
        assert cells[roc_year_label(year - 1)] == row["previous_year_to_date"]


def test_the_demo_banner_the_period_and_the_types(deployment, committee):
    values, _, views = committee
    assert view(views, "資料性質").series == {
        "資料性質": "示範資料：以下數字由示範資料產生器產生，並非真實統計，請勿引用"
    }
    status = deployment.kpi_json("/api/v1/status")
    assert list(view(views, "目前報告期別（期限已過之最新一季）").series) == [
        Quarter.parse(status["current_quarter"]).label_zh
    ]
    types = view(views, "十種數位性別暴力類型")
    assert types.rows and len(types.rows) <= len(CATALOG.gbv_types)
    assert set(column(types, types.columns[0])) <= {t.name for t in CATALOG.gbv_types}
    assert set(types.columns[1:]) <= {"男性嫌疑人", "女性嫌疑人", "男性被害人", "女性被害人"}
