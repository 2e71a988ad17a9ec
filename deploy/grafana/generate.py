"""Build the Grafana dashboards as code: `python deploy/grafana/generate.py` rewrites dashboards/*.json.

Grafana loads the committed JSON; tests check that it equals what this script builds and that
every panel's query, run by a real Prometheus against the real services with demo data, returns
the series the panel means to show, with Chinese names (tests/deploy/test_dashboard_panels.py).

People read names, never codes: legends, columns and rows use kpi's `*_name` labels (README, "KPI
metrics"), notify's `rule_name` and the services' names (service_named), years are ROC years, and
thresholds come from the catalog (shared/catalog).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from shared.catalog import Catalog, default_catalog  # noqa: E402
from shared.observability import SERVICE_NAMES  # noqa: E402
from shared.rules import CASE_ROLE_NAMES  # noqa: E402

DASHBOARDS = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "dgbv-prometheus"}
# The chosen year and quarter (template variables; they default to the current reporting period).
YEAR = 'year="$year"'
QUARTER = 'year="$year", quarter="$quarter"'
BUREAUS = 'bureau=~"$bureau"'
# The seed's own caveat (一、性別統計分析), beside every count.
DARK_FIGURE = (
    "**犯罪黑數：**遭散布性隱私影像、照片之被害人可能因不知情，或避免曝光而未報案，以致存在有犯罪黑數，"
    "故上揭案類數據均有偏低情形。件數下降可能代表報案減少，未必代表暴力減少；請與各局處的宣導、"
    "通報及保護服務量一併判讀。資料來源：刑事局刑案紀錄處理系統。"
)
DEMO_TEXT = "示範資料：以下數字由示範資料產生器產生，並非真實統計，請勿引用"


def catalog_steps(catalog: Catalog) -> tuple[list[dict], list[dict]]:
    """Thresholds from the catalog, never typed in.

    - year-to-date / seasonal target: at most 1 is on track; up to the baseline's same quarters,
      1 / (1 - reduction), it is at risk; above, off track (shared/rules.py, assess_indicator);
    - progress: under the catalog's behind_threshold an action is behind plan (rules.judge).
    """
    plan_goal = next((g for g in catalog.goals if g.is_plans_own), catalog.goals[0])
    at_risk_until = float(1 / (1 - plan_goal.reduction))
    status = [
        {"color": "green", "value": None},
        {"color": "orange", "value": 1.000001},
        {"color": "red", "value": round(at_risk_until + 0.000001, 7)},
    ]
    progress = [
        {"color": "red", "value": None},
        {"color": "green", "value": float(catalog.reporting.behind_threshold)},
    ]
    return status, progress


# kpi's and notify's figures come from their databases: every replica serves the same series, told
# apart only by `instance`. Each such selector reads one replica's answer (max without instance), so
# sums and counts give the same figure with one replica or three. Per-replica HTTP metrics, `up` and
# the recording rules (`dgbv:`, already one answer) are left as they are.
SHARED_FIGURE = re.compile(r"\b(?<![:\w])(dgbv_(?!http_)\w+)(\{[^}]*\})?(?!\w|\s*\[|\{)")
RANGE_OF_SHARED_FIGURE = re.compile(r"\b(increase|rate)\((dgbv_(?!http_)\w+(?:\{[^}]*\})?\[\w+\])\)")


def one_answer(expr: str) -> str:
    """`expr` with each shared figure read once, however many replicas serve it."""
    expr = SHARED_FIGURE.sub(lambda m: f"max without (instance) ({m.group(0)})", expr)
    return RANGE_OF_SHARED_FIGURE.sub(lambda m: f"max without (instance) ({m.group(0)})", expr)


def target(expr: str, legend: str = "", instant: bool = False) -> dict:
    query = {"datasource": DATASOURCE, "expr": one_answer(expr), "legendFormat": legend}
    if instant:
        query.update(instant=True, range=False, format="table")
    return query


def panel(kind: str, title: str, targets: list[dict], grid: tuple[int, int, int, int], **options) -> dict:
    x, y, w, h = grid
    body = {
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(targets)],
    }
    body.update(options)
    return body


def row(title: str, y: int) -> dict:
    return {
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
        "panels": [],
    }


def text_panel(title: str, content: str, grid) -> dict:
    x, y, w, h = grid
    return {
        "type": "text",
        "title": title,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "options": {"mode": "markdown", "content": content},
    }


def organize(columns: dict[str, str], hidden: tuple[str, ...] = ()) -> dict:
    """Columns renamed to Chinese and put in this order; everything not named is hidden."""
    return {
        "id": "organize",
        "options": {
            "excludeByName": dict.fromkeys(("Time", *hidden), True),
            "renameByName": columns,
            "indexByName": {name: i for i, name in enumerate(columns)},
        },
    }


def drop_time() -> dict:
    return {"id": "organize", "options": {"excludeByName": {"Time": True}}}


def join_on(field: str) -> dict:
    """Several instant queries as one table, a row per `field` (e.g. one row per bureau)."""
    return {"id": "joinByField", "options": {"byField": field, "mode": "outer"}}


def matrix(rows: str, columns: str) -> dict:
    """One row per `rows` label, one column (a series in a chart) per `columns` label. Grafana
    names the first column `rows\\columns` (see matrix_key)."""
    return {
        "id": "groupingToMatrix",
        "options": {"rowField": rows, "columnField": columns, "valueField": "Value", "emptyValue": "null"},
    }


def matrix_key(rows: str, columns: str) -> str:
    return f"{rows}\\{columns}"


def sort_by(field: str, desc: bool = False) -> dict:
    return {"id": "sortBy", "options": {"sort": [{"field": field, "desc": desc}]}}


def field_config(
    steps=None, unit="none", minimum=None, maximum=None, decimals=None, mappings=None, overrides=None
):
    defaults = {"unit": unit}
    if steps is not None:
        defaults.update(thresholds={"mode": "absolute", "steps": steps}, color={"mode": "thresholds"})
    for key, value in (("min", minimum), ("max", maximum), ("decimals", decimals), ("mappings", mappings)):
        if value is not None:
            defaults[key] = value
    return {"fieldConfig": {"defaults": defaults, "overrides": overrides or []}}


def column(name: str, **properties) -> dict:
    """Field options of one column, by its (Chinese) name."""
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": key, "value": value} for key, value in properties.items()],
    }


def query_variable(name: str, label: str, expr: str, value: str, text: str, sort: int, **extra) -> dict:
    """A variable whose options show a name (text) and keep a code (value).

    Grafana's query_result() formats each series as `{label="...", ...} value timestamp`; the
    regex's named groups pick the code and the name in whatever order the labels come. The first
    option is the default (Grafana selects it when the saved one is not offered).
    """
    regex = f'/(?=.*\\b{text}="(?<text>[^"]+)")(?=.*\\b{value}="(?<value>[^"]+)")/'
    query = f"query_result({expr})"
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-variable"},
        "definition": query,
        "regex": regex,
        "refresh": 1,  # on dashboard load: the current period moves on by itself
        "sort": sort,
        "hide": 0,
        "multi": False,
        "options": [],
        "current": {},
        **extra,
    }


def variables() -> list[dict]:
    # Years: the current reporting period's year first (value 2), then the others (value 1).
    years = "max by (year, year_name) (dgbv_indicator_status)"
    year_options = (
        f"sort_desc({years} + on (year) group_left () max by (year) (dgbv_current_period) or {years})"
    )
    # Quarters of the chosen year whose due date has passed, latest first: for the current year the
    # latest is the current reporting quarter itself.
    quarter_options = 'max by (quarter, period_name) (dgbv_report_completeness_ratio{year="$year"})'
    bureau_options = "max by (bureau, bureau_name) (dgbv_action_info)"
    return [
        query_variable("year", "年度", year_options, "year", "year_name", sort=0),
        query_variable("quarter", "季別", quarter_options, "quarter", "period_name", sort=2),
        query_variable(
            "bureau",
            "局處",
            bureau_options,
            "bureau",
            "bureau_name",
            sort=0,
            includeAll=True,
            allValue=".*",
            current={"selected": True, "text": "全部局處", "value": "$__all"},
        ),
    ]


def dashboard(
    uid: str, title: str, description: str, panels: list[dict], tags: list[str], templating=()
) -> dict:
    for number, item in enumerate(panels, start=1):
        item["id"] = number
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": tags,
        "timezone": "Asia/Taipei",
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-30d", "to": "now"},
        "templating": {"list": list(templating)},
        "panels": panels,
    }


def indicator_panels(catalog: Catalog, status_steps: list[dict], y: int) -> list[dict]:
    by_indicator = "max by (indicator_name) ({metric}{{" + YEAR + "}})"
    status_colors = {
        "符合目標進度": "green",
        "已達成年度目標": "green",
        "有未達目標之風險": "orange",
        "偏離目標": "red",
        "未達成年度目標": "red",
    }
    status_mappings = [
        {
            "type": "value",
            "options": {text: {"text": text, "color": color} for text, color in status_colors.items()},
        }
    ]
    columns = {
        "indicator_name": "成效指標",
        "Value #A": "今年累計",
        "Value #B": "季節性目標（基準年同期 × 0.97）",
        "Value #C": "較基準年同期增減（%）",
        "Value #D": "年底推估",
        "Value #E": "全年目標",
        "status_name": "狀態",
        "goal_name": "目標性質",
    }
    plan_goal = next((g for g in catalog.goals if g.is_plans_own), catalog.goals[0])
    factor = f"{1 - plan_goal.reduction:g}"
    columns["Value #B"] = f"季節性目標（基準年同期 × {factor}）"
    return [
        row("一、三項成效指標：所選年度今年累計與 3% 下降目標", y),
        panel(
            "table",
            "三項成效指標：今年累計、季節性目標、狀態與年底推估（所選年度）",
            [
                target(by_indicator.format(metric="dgbv_indicator_ytd"), instant=True),
                target(by_indicator.format(metric="dgbv_indicator_ytd_target"), instant=True),
                target(by_indicator.format(metric="dgbv_indicator_change_pct"), instant=True),
                target(by_indicator.format(metric="dgbv_indicator_projection"), instant=True),
                target(by_indicator.format(metric="dgbv_indicator_target"), instant=True),
                target(
                    f"max by (indicator_name, status_name, goal_name) (dgbv_indicator_status{{{YEAR}}} == 1)",
                    instant=True,
                ),
            ],
            (0, y + 1, 16, 7),
            description=(
                "今年累計：所選年度至最新一季（各季件數齊備者）之累計人數；季節性目標：目標基準年同期累計 × (1 − 下降幅度)；"
                "年底推估：今年累計依基準年季節分布推估之全年人數。狀態與 kpi、通知信件相同。目標幅度與基準年見方案目錄。"
            ),
            transformations=[drop_time(), join_on("indicator_name"), organize(columns, hidden=("Value #F",))],
            **field_config(
                decimals=0,
                overrides=[
                    column("較基準年同期增減（%）", decimals=2),
                    column(
                        "狀態", mappings=status_mappings, **{"custom.cellOptions": {"type": "color-text"}}
                    ),
                ],
            ),
        ),
        panel(
            "bargauge",
            "今年累計 ÷ 季節性目標（≤ 100% 表示符合目標進度）",
            [
                target(
                    f"dgbv_indicator_ytd{{{YEAR}}} / on (indicator, year) group_left (goal_name) "
                    f"dgbv_indicator_ytd_target{{{YEAR}}}",
                    "{{indicator_name}}",
                    instant=True,
                )
            ],
            (16, y + 1, 8, 7),
            description="超過 100% 為有未達目標之風險；超過基準年同期（100% ÷ (1 − 下降幅度)）為偏離目標。未訂目標之年度無此圖。",
            options={"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True},
            **field_config(status_steps, unit="percentunit", minimum=0, maximum=1.5, decimals=1),
        ),
    ]


def trend_panels(catalog: Catalog, y: int) -> list[dict]:
    first = catalog.plan.history_first_year - 1911
    complete_years = (
        "sum by (indicator_name, year_name) (dgbv_indicator_count) and on (indicator_name, year_name) "
        "(count by (indicator_name, year_name) (dgbv_indicator_count) == 4)"
    )
    categories = {c.id: c.name for c in catalog.crime_categories}
    panels = [
        row(f"二、歷年趨勢（民國{first}年起，依方案之圖一、圖三、圖五）", y),
        text_panel("判讀須知：犯罪黑數", DARK_FIGURE, (0, y + 1, 24, 3)),
        panel(
            "barchart",
            f"三項成效指標歷年人數（民國{first}年起，全年資料齊備之年度）",
            [target(complete_years, instant=True)],
            (0, y + 4, 12, 8),
            description=DARK_FIGURE,
            transformations=[
                matrix("year_name", "indicator_name"),
                sort_by(matrix_key("year_name", "indicator_name")),
            ],
            options={
                "xField": matrix_key("year_name", "indicator_name"),
                "orientation": "vertical",
                "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
            },
            **field_config(decimals=0),
        ),
        panel(
            "barchart",
            "男性為女性的倍數（歷年）",
            [target("max by (indicator_name, year_name) (dgbv_trend_male_female_ratio)", instant=True)],
            (12, y + 4, 12, 8),
            description="各指標所屬案類與身分（嫌疑人或被害人）中，男性人數為女性人數之倍數；人數過少而不陳示之年度從缺。"
            + DARK_FIGURE,
            transformations=[
                matrix("year_name", "indicator_name"),
                sort_by(matrix_key("year_name", "indicator_name")),
            ],
            options={
                "xField": matrix_key("year_name", "indicator_name"),
                "orientation": "vertical",
                "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
            },
            **field_config(decimals=2),
        ),
    ]
    for i, indicator in enumerate(catalog.indicators):
        title = f"{categories[indicator.category]}案{CASE_ROLE_NAMES[indicator.role]}人數—依性別（民國{first}年起）"
        panels.append(
            panel(
                "barchart",
                title,
                [
                    target(
                        f'max by (sex_name, year_name) (dgbv_trend_count{{indicator="{indicator.id}"}})',
                        instant=True,
                    )
                ],
                (8 * i, y + 12, 8, 8),
                description="依案件紀錄計數；人數過少（方案目錄 disclosure）之格不陳示。" + DARK_FIGURE,
                transformations=[
                    matrix("year_name", "sex_name"),
                    sort_by(matrix_key("year_name", "sex_name")),
                ],
                options={
                    "xField": matrix_key("year_name", "sex_name"),
                    "orientation": "vertical",
                    "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
                },
                **field_config(decimals=0),
            )
        )
    panels.append(
        panel(
            "table",
            "年增率（各指標所屬案類與身分，依性別）",
            [
                target(
                    "max by (indicator_name, sex_name, span_name) (dgbv_trend_growth_rate_pct)", instant=True
                )
            ],
            (0, y + 20, 24, 6),
            description="年增率＝（末年人數 ÷ 首年人數）^(1 ÷ 年數) − 1，與方案本文相同算法。" + DARK_FIGURE,
            transformations=[
                organize(
                    {
                        "indicator_name": "成效指標（案類與身分）",
                        "sex_name": "性別",
                        "span_name": "期間",
                        "Value": "年增率（%）",
                    }
                ),
                sort_by("成效指標（案類與身分）"),
            ],
            **field_config(decimals=2),
        )
    )
    return panels


def compliance_panels(y: int) -> list[dict]:
    complete = [{"color": "red", "value": None}, {"color": "green", "value": 1}]
    by_bureau = "max by (bureau_name) ({metric}{{" + QUARTER + "}})"
    submitted_mappings = [
        {
            "type": "value",
            "options": {"1": {"text": "已繳交", "color": "green"}, "0": {"text": "未繳交", "color": "red"}},
        }
    ]
    return [
        row("三、所選季別之填報完整與準時（依局處）", y),
        panel(
            "stat",
            "所選季別：填報完整率與準時率",
            [
                target(f"dgbv_report_completeness_ratio{{{QUARTER}}}", "完整率（{{period_name}}）"),
                target(f"dgbv_report_timeliness_ratio{{{QUARTER}}}", "準時率（{{period_name}}）"),
            ],
            (0, y + 1, 8, 6),
            description="完整率＝已繳交局處 ÷ 應繳局處；準時率＝於期限內繳交局處 ÷ 應繳局處。",
            options={
                "reduceOptions": {"calcs": ["lastNotNull"]},
                "textMode": "value_and_name",
                "colorMode": "background",
            },
            **field_config(complete, unit="percentunit", decimals=0),
        ),
        panel(
            "table",
            "各局處填報情形（所選季別）",
            [
                target(by_bureau.format(metric="dgbv_report_submitted"), instant=True),
                target(by_bureau.format(metric="dgbv_report_days_late"), instant=True),
                target(by_bureau.format(metric="dgbv_report_days_overdue"), instant=True),
            ],
            (8, y + 1, 16, 6),
            transformations=[
                drop_time(),
                join_on("bureau_name"),
                organize(
                    {
                        "bureau_name": "局處",
                        "Value #A": "繳交情形",
                        "Value #B": "遲交天數",
                        "Value #C": "逾期未繳天數",
                    }
                ),
            ],
            **field_config(
                decimals=0,
                overrides=[
                    column(
                        "繳交情形",
                        mappings=submitted_mappings,
                        **{"custom.cellOptions": {"type": "color-text"}},
                    )
                ],
            ),
        ),
        panel(
            "table",
            "尚可補繳的缺漏（未鎖定之季別，可立即處理）",
            [target("max by (bureau_name, period_name) (dgbv_report_open_gap)", instant=True)],
            (0, y + 7, 12, 6),
            description="逾期未繳、且依方案目錄之鎖定規則（期限後 lock_days 日內，或管考人員重新開放後）仍可填報的季別。",
            noValue="目前沒有尚可補繳的缺漏",
            transformations=[
                organize({"bureau_name": "局處", "period_name": "季別", "Value": "已逾期天數"}),
                sort_by("已逾期天數", desc=True),
            ],
            **field_config([{"color": "red", "value": None}], decimals=0),
        ),
        panel(
            "table",
            "已鎖定之逾期未繳紀錄（所選年度，僅供紀錄）",
            [
                target(
                    f"max by (bureau_name, period_name) ((dgbv_report_days_overdue{{{YEAR}}} > 0) "
                    "unless on (bureau, year, quarter) dgbv_report_open_gap)",
                    instant=True,
                )
            ],
            (12, y + 7, 6, 6),
            description="該季已鎖定，局處無法再填報；如需補登，請管考人員重新開放。",
            noValue="所選年度沒有已鎖定之未繳紀錄",
            transformations=[
                organize({"bureau_name": "局處", "period_name": "季別", "Value": "逾期天數"}),
                sort_by("季別"),
            ],
            **field_config(decimals=0),
        ),
        panel(
            "table",
            "遲交紀錄（所選年度）",
            [
                target(
                    f"max by (bureau_name, period_name) (dgbv_report_days_late{{{YEAR}}} > 0)", instant=True
                )
            ],
            (18, y + 7, 6, 6),
            noValue="所選年度沒有遲交",
            transformations=[
                organize({"bureau_name": "局處", "period_name": "季別", "Value": "遲交天數"}),
                sort_by("季別"),
            ],
            **field_config(decimals=0),
        ),
    ]


def progress_panels(progress_steps: list[dict], y: int) -> list[dict]:
    behind = (
        f"max by (bureau_name, action_name, metric_name, text) ("
        f"dgbv_action_progress_ratio{{{BUREAUS}}} * on (bureau, program, action, metric) group_left () (dgbv_action_behind == 1)"
        " * on (action) group_left (text) dgbv_action_info)"
    )
    caseload = (
        "label_join(label_replace("
        f"max by (bureau_name, action_name, metric_name, year_name) (dgbv_action_caseload_ytd{{{BUREAUS}}}), "
        '"item", "$1", "action_name", "(.*?)：.*"), "item", " ", "item", "metric_name")'
    )
    return [
        row("四、執行進度（目前報告期別，今年累計實績 ÷ 計畫）", y),
        panel(
            "bargauge",
            "各局處執行進度（目前報告期別）",
            [
                target(
                    f"avg by (bureau_name) (dgbv_action_progress_ratio{{{BUREAUS}}})",
                    "{{bureau_name}}",
                    instant=True,
                )
            ],
            (0, y + 1, 8, 8),
            description="各局處已判定之產出指標（今年累計實績 ÷ 今年累計計畫）平均；低於方案目錄之落後門檻者為落後。",
            options={"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True},
            **field_config(progress_steps, unit="percentunit", minimum=0, maximum=1.5, decimals=0),
        ),
        panel(
            "table",
            "進度落後的具體作法（依局處，目前報告期別）",
            [target(behind, instant=True)],
            (8, y + 1, 16, 8),
            description="依方案目錄編號與內容；落後原因與因應對策見各局處季報（填報系統）。",
            noValue="目前沒有進度落後的具體作法",
            transformations=[
                organize(
                    {
                        "bureau_name": "局處",
                        "action_name": "具體作法",
                        "metric_name": "指標",
                        "Value": "進度",
                        "text": "具體作法內容",
                    }
                ),
                sort_by("具體作法"),
            ],
            **field_config(
                progress_steps,
                unit="percentunit",
                decimals=0,
                overrides=[column("進度", **{"custom.cellOptions": {"type": "color-text"}})],
            ),
        ),
        row("五、案件量（需求面指標：呈現趨勢，不判定達成與否）", y + 9),
        panel(
            "table",
            "案件量：今年累計與去年同期（目前報告期別）",
            [target(caseload, instant=True)],
            (0, y + 10, 24, 18),
            description="通報、受理、保護與服務等案件量反映需求，不設目標、不判定落後；增加可能代表求助管道暢通。"
            + DARK_FIGURE,
            transformations=[
                matrix("item", "year_name"),
                sort_by(matrix_key("item", "year_name")),
                {
                    "id": "organize",
                    "options": {"renameByName": {matrix_key("item", "year_name"): "具體作法與指標"}},
                },
            ],
            **field_config(decimals=0),
        ),
    ]


def type_panels(y: int) -> list[dict]:
    cells = (
        'label_join(sum by (type, type_name, role_name, sex_name) (dgbv_gbv_type_count{year="$year"}), '
        '"group", "", "sex_name", "role_name")'
    )
    return [
        row("六、十種數位性別暴力類型（所選年度）", y),
        panel(
            "barchart",
            "十種數位性別暴力類型：依身分與性別（所選年度）",
            [target(f"max by (type_name, group) ({cells})", instant=True)],
            (0, y + 1, 24, 10),
            description=(
                "依案件紀錄計數，一筆紀錄可屬多種類型。為保護被害人，人數過少之格（門檻見方案目錄 disclosure）"
                "及可據以推算之格不陳示；完整統計表由警察局統計單位發布。" + DARK_FIGURE
            ),
            transformations=[matrix("type_name", "group")],
            options={
                "orientation": "horizontal",
                "xField": matrix_key("type_name", "group"),
                "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
            },
            **field_config(decimals=0),
        ),
    ]


def committee(catalog: Catalog | None = None) -> dict:
    catalog = catalog or default_catalog()
    status_steps, progress_steps = catalog_steps(catalog)
    banner = panel(
        "stat",
        "資料性質",
        [target("dgbv_demo_data", "資料性質")],
        (0, 0, 16, 3),
        options={"reduceOptions": {"calcs": ["lastNotNull"]}, "textMode": "value", "colorMode": "background"},
        **field_config(
            [{"color": "green", "value": None}, {"color": "orange", "value": 1}],
            mappings=[{"type": "value", "options": {"1": {"text": DEMO_TEXT}, "0": {"text": "正式資料"}}}],
        ),
    )
    period = panel(
        "stat",
        "目前報告期別（期限已過之最新一季）",
        [target("dgbv_current_period", "{{period_name}}")],
        (16, 0, 8, 3),
        options={"reduceOptions": {"calcs": ["lastNotNull"]}, "textMode": "name", "colorMode": "none"},
        **field_config([{"color": "text", "value": None}]),
    )
    panels = [banner, period]
    panels += indicator_panels(catalog, status_steps, 3)
    panels += trend_panels(catalog, 11)
    panels += compliance_panels(37)
    panels += progress_panels(progress_steps, 51)
    panels += type_panels(79)
    return dashboard(
        "dgbv-committee",
        "數位性別暴力防治方案：委員會儀表板",
        "所選年度三項成效指標與下降 3% 目標、歷年趨勢、所選季別各局處填報情形、落後的具體作法與案件量。"
        "年度與季別預設為目前報告期別。",
        panels,
        ["dgbv", "committee"],
        templating=variables(),
    )


def service_named(expr: str, label: str) -> str:
    """`expr` with a `service_name` label, the service's name (shared.observability.SERVICE_NAMES)
    for its code in `label` (`job` or `service`): Prometheus' `job` cannot carry it from the source."""
    for code, name in SERVICE_NAMES.items():
        expr = f'label_replace({expr}, "service_name", "{name}", "{label}", "{code}")'
    return expr


def operations() -> dict:
    jobs = "|".join(SERVICE_NAMES)
    up = service_named(f'up{{job=~"{jobs}"}}', "job")
    by_rule = "sum by (rule_name) (increase({metric}[1h]))"
    every_rule = "sum (increase({metric}[1h]))"
    return dashboard(
        "dgbv-operations",
        "數位性別暴力防治方案：系統維運",
        "服務狀態、請求量、錯誤率與延遲、KPI 同步、提醒信件佇列。",
        [
            panel(
                "stat",
                "服務是否運作",
                [
                    target(
                        f"min by (service_name) ({up})",
                        "{{service_name}}",
                    )
                ],
                (0, 0, 8, 5),
                description="任一副本無法連線即顯示停止。",
                **field_config(
                    [{"color": "red", "value": None}, {"color": "green", "value": 1}],
                    mappings=[{"type": "value", "options": {"0": {"text": "停止"}, "1": {"text": "運作中"}}}],
                ),
            ),
            panel(
                "timeseries",
                "每秒請求數",
                [target(service_named("dgbv:http_requests:rate5m", "service"), "{{service_name}}")],
                (8, 0, 8, 8),
                **field_config([{"color": "blue", "value": None}], unit="reqps"),
            ),
            panel(
                "timeseries",
                "錯誤率（5xx）",
                [target(service_named("dgbv:http_errors:ratio5m", "service"), "{{service_name}}")],
                (16, 0, 8, 8),
                **field_config(
                    [{"color": "green", "value": None}, {"color": "red", "value": 0.01}], unit="percentunit"
                ),
            ),
            panel(
                "timeseries",
                "延遲 p95",
                [target(service_named("dgbv:http_latency_seconds:p95_5m", "service"), "{{service_name}}")],
                (0, 8, 8, 8),
                **field_config(
                    [{"color": "green", "value": None}, {"color": "orange", "value": 1}], unit="s"
                ),
            ),
            panel(
                "stat",
                "KPI 資料距上次同步",
                [
                    target("dgbv:sync_age_seconds", "同步延遲"),
                    target("dgbv_sync_source_up", "可連線填報系統"),
                ],
                (8, 8, 8, 8),
                **field_config([{"color": "green", "value": None}, {"color": "red", "value": 600}], unit="s"),
            ),
            panel(
                "stat",
                "提醒信件佇列",
                [
                    target("dgbv_outbox_pending", "待寄"),
                    target("dgbv_outbox_oldest_pending_age_seconds", "最舊等待秒數"),
                ],
                (16, 8, 8, 8),
                **field_config([{"color": "green", "value": None}, {"color": "orange", "value": 10}]),
            ),
            panel(
                "timeseries",
                "信件：建立、寄出、失敗（每小時）",
                [
                    target(every_rule.format(metric="dgbv_notifications_created_total"), "建立"),
                    target(every_rule.format(metric="dgbv_notifications_sent_total"), "寄出"),
                    target(every_rule.format(metric="dgbv_notifications_failed_total"), "失敗"),
                ],
                (0, 16, 8, 8),
                **field_config([{"color": "blue", "value": None}]),
            ),
            panel(
                "timeseries",
                "寄送失敗的信件（每小時，依信件類別）",
                [target(by_rule.format(metric="dgbv_notifications_failed_total"), "{{rule_name}}")],
                (8, 16, 8, 8),
                description="信件類別與信件主旨開頭的【】相同（例如【提醒】、【逾期】）。",
                **field_config([{"color": "green", "value": None}, {"color": "red", "value": 1}]),
            ),
            panel(
                "stat",
                "上次提醒評估距今",
                [target("time() - dgbv_notify_last_evaluation_timestamp_seconds", "秒")],
                (16, 16, 8, 8),
                **field_config(
                    [{"color": "green", "value": None}, {"color": "red", "value": 90000}], unit="s"
                ),
            ),
        ],
        ["dgbv", "operations"],
    )


def render(board: dict) -> str:
    return json.dumps(board, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


BUILDERS = {"committee.json": committee, "operations.json": operations}


def main() -> None:
    DASHBOARDS.mkdir(parents=True, exist_ok=True)
    for name, build in BUILDERS.items():
        (DASHBOARDS / name).write_text(render(build()), encoding="utf-8")


if __name__ == "__main__":
    main()
