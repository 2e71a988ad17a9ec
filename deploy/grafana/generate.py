"""Build the Grafana dashboards as code: `python deploy/grafana/generate.py` rewrites dashboards/*.json.

Grafana loads the committed JSON; tests check that it equals what this script builds and that
every query returns series from the real services.
"""

from __future__ import annotations

import json
from pathlib import Path

DASHBOARDS = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "dgbv-prometheus"}
# Joined on a series' year (or year and quarter): only the current reporting period's series remain.
CURRENT_YEAR = " * on (year) group_left (period) max without (instance) (dgbv_current_period)"
CURRENT_QUARTER = " * on (year, quarter) group_left (period) max without (instance) (dgbv_current_period)"
# kpi's and notify's figures come from the database: every replica serves the same series, told
# apart only by `instance`. Panels take one of them (max), so one replica or three give one answer.
# Left as they are: per-replica HTTP and process metrics, the recording rules (already one answer)
# and queries that aggregate themselves.
AS_THEY_ARE = ("dgbv_http_", "process_", "python_")
AGGREGATED = ("up", "dgbv:", "sum ", "avg ", "max ", "min ", "count ")


def one_answer(expr: str) -> str:
    if expr.startswith(AGGREGATED) or any(marker in expr for marker in AS_THEY_ARE):
        return expr
    return f"max without (instance) ({expr})"


# Year-to-date over the seasonal target: at most 1 is on track; up to 1/0.97 is still under the baseline.
STATUS_STEPS = [
    {"color": "green", "value": None},
    {"color": "orange", "value": 1.000001},
    {"color": "red", "value": 1.0309279},
]
PROGRESS_STEPS = [
    {"color": "red", "value": None},
    {"color": "orange", "value": 0.9},
    {"color": "green", "value": 1},
]


def target(expr: str, legend: str = "", instant: bool = False, ref: str = "A") -> dict:
    query = {"refId": ref, "datasource": DATASOURCE, "expr": one_answer(expr), "legendFormat": legend}
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


def table_panel(
    title: str, expr: str, grid, columns: dict[str, str], hide_value: bool = False, **options
) -> dict:
    """An instant query as a table whose label columns carry Chinese names."""
    hidden = {"Time": True, "__name__": True, "instance": True, "job": True}
    if hide_value:
        hidden["Value"] = True
    organize = {"id": "organize", "options": {"excludeByName": hidden, "renameByName": columns}}
    return panel("table", title, [target(expr, instant=True)], grid, transformations=[organize], **options)


def thresholds(steps, unit="none", minimum=None, maximum=None, decimals=None, mappings=None) -> dict:
    defaults = {
        "unit": unit,
        "thresholds": {"mode": "absolute", "steps": steps},
        "color": {"mode": "thresholds"},
    }
    for key, value in (("min", minimum), ("max", maximum), ("decimals", decimals), ("mappings", mappings)):
        if value is not None:
            defaults[key] = value
    return {"fieldConfig": {"defaults": defaults, "overrides": []}}


def dashboard(uid: str, title: str, description: str, panels: list[dict], tags: list[str]) -> dict:
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
        "panels": panels,
    }


def committee() -> dict:
    status_mappings = [
        {
            "type": "value",
            "options": {
                "on_track": {"text": "進度達標", "color": "green"},
                "at_risk": {"text": "有風險", "color": "orange"},
                "off_track": {"text": "未達標", "color": "red"},
                "met": {"text": "已達成", "color": "green"},
                "missed": {"text": "未達成", "color": "red"},
                "no_data": {"text": "尚無資料", "color": "gray"},
                "no_baseline": {"text": "缺基準年資料", "color": "gray"},
            },
        }
    ]
    return dashboard(
        "dgbv-committee",
        "數位性別暴力防治方案：委員會儀表板",
        "三項成效指標與 110 年相比下降 3% 的進度、各局處填報情形與執行進度、十種數位性別暴力類型。",
        [
            panel(
                "bargauge",
                "三項指標：今年累計 ÷ 季節性目標（≤ 1 表示進度達標）",
                [target("dgbv:indicator_ytd_over_target:ratio" + CURRENT_YEAR, "{{indicator}}")],
                (0, 0, 12, 8),
                options={"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True},
                **thresholds(STATUS_STEPS, unit="percentunit", minimum=0, maximum=1.5, decimals=1),
            ),
            table_panel(
                "指標狀態（今年）",
                "(dgbv_indicator_status == 1)" + CURRENT_YEAR,
                (12, 0, 12, 8),
                {"indicator": "指標", "status": "狀態", "year": "年", "goal": "目標", "period": "期別"},
                hide_value=True,
                **thresholds([{"color": "text", "value": None}], mappings=status_mappings),
            ),
            panel(
                "timeseries",
                "今年累計案件數與季節性目標",
                [
                    target("dgbv_indicator_ytd", "{{indicator}} 累計 {{year}}"),
                    target("dgbv_indicator_ytd_target", "{{indicator}} 目標 {{year}}"),
                ],
                (0, 8, 12, 9),
                **thresholds([{"color": "blue", "value": None}]),
            ),
            panel(
                "barchart",
                "各季案件數與季節性目標（基準年同季 × 0.97）",
                [
                    target("dgbv_indicator_count", "{{indicator}} {{year}}Q{{quarter}}", instant=True),
                    target(
                        "dgbv_indicator_seasonal_target",
                        "目標 {{indicator}} {{year}}Q{{quarter}}",
                        instant=True,
                    ),
                ],
                (12, 8, 12, 9),
                options={"orientation": "horizontal", "xField": "quarter"},
                **thresholds([{"color": "blue", "value": None}]),
            ),
            panel(
                "stat",
                "年底推估與全年目標",
                [
                    target("dgbv_indicator_projection" + CURRENT_YEAR, "推估 {{indicator}} {{year}}"),
                    target("dgbv_indicator_target" + CURRENT_YEAR, "目標 {{indicator}} {{year}}"),
                ],
                (0, 17, 12, 6),
                options={"reduceOptions": {"calcs": ["lastNotNull"]}, "textMode": "value_and_name"},
                **thresholds([{"color": "blue", "value": None}], decimals=0),
            ),
            panel(
                "barchart",
                "各季填報完整率與準時率",
                [
                    target("dgbv_report_completeness_ratio", "完整率 {{year}}Q{{quarter}}", instant=True),
                    target("dgbv_report_timeliness_ratio", "準時率 {{year}}Q{{quarter}}", instant=True),
                ],
                (12, 17, 12, 6),
                **thresholds(PROGRESS_STEPS, unit="percentunit", minimum=0, maximum=1),
            ),
            table_panel(
                "本期逾期未繳的局處（逾期天數）",
                "(dgbv_report_days_overdue > 0)" + CURRENT_QUARTER,
                (0, 23, 12, 7),
                {
                    "bureau": "局處",
                    "year": "年",
                    "quarter": "季",
                    "Value": "逾期天數",
                },
                **thresholds([{"color": "red", "value": None}]),
            ),
            table_panel(
                "遲交的報告（遲交天數）",
                "dgbv_report_days_late > 0",
                (12, 23, 12, 7),
                {
                    "bureau": "局處",
                    "year": "年",
                    "quarter": "季",
                    "Value": "遲交天數",
                },
                **thresholds([{"color": "orange", "value": None}]),
            ),
            panel(
                "bargauge",
                "各方案執行進度（今年累計實績 ÷ 計畫）",
                [target("avg by (program) (dgbv_action_progress_ratio)", "{{program}}")],
                (0, 30, 8, 8),
                options={"orientation": "horizontal", "displayMode": "gradient"},
                **thresholds(PROGRESS_STEPS, unit="percentunit", minimum=0, maximum=1.5),
            ),
            panel(
                "bargauge",
                "各局處執行進度",
                [target("avg by (bureau) (dgbv_action_progress_ratio)", "{{bureau}}")],
                (8, 30, 8, 8),
                options={"orientation": "horizontal", "displayMode": "gradient"},
                **thresholds(PROGRESS_STEPS, unit="percentunit", minimum=0, maximum=1.5),
            ),
            table_panel(
                "落後的具體作法（kpi 判定，門檻見方案目錄）",
                "dgbv_action_progress_ratio and on (bureau, program, action, metric) (dgbv_action_behind == 1)",
                (16, 30, 8, 8),
                {
                    "bureau": "局處",
                    "program": "方案",
                    "action": "具體作法",
                    "metric": "指標",
                    "Value": "進度",
                },
                **thresholds(PROGRESS_STEPS, unit="percentunit"),
            ),
            panel(
                "barchart",
                "十種數位性別暴力類型：依角色與性別",
                [
                    target(
                        "sum by (type, role, sex) (max without (instance) (dgbv_gbv_type_count))",
                        "類型{{type}} {{role}} {{sex}}",
                        instant=True,
                    )
                ],
                (0, 38, 24, 9),
                description=(
                    "依案件紀錄計數，各年合計。為保護被害人，人數過少之格（門檻見方案目錄 disclosure）"
                    "及可據以推算之格不陳示，不計入本圖；完整統計表由警察局統計單位發布。"
                ),
                options={"orientation": "horizontal"},
                **thresholds([{"color": "purple", "value": None}]),
            ),
        ],
        ["dgbv", "committee"],
    )


def operations() -> dict:
    return dashboard(
        "dgbv-operations",
        "數位性別暴力防治方案：系統維運",
        "服務狀態、請求量、錯誤率與延遲、KPI 同步、提醒信件佇列。",
        [
            panel(
                "stat",
                "服務是否運作",
                [target('up{job=~"intake|kpi|notify"}', "{{job}}")],
                (0, 0, 8, 5),
                **thresholds(
                    [{"color": "red", "value": None}, {"color": "green", "value": 1}],
                    mappings=[{"type": "value", "options": {"0": {"text": "停止"}, "1": {"text": "運作中"}}}],
                ),
            ),
            panel(
                "timeseries",
                "每秒請求數",
                [target("dgbv:http_requests:rate5m", "{{service}}")],
                (8, 0, 8, 8),
                **thresholds([{"color": "blue", "value": None}], unit="reqps"),
            ),
            panel(
                "timeseries",
                "錯誤率（5xx）",
                [target("dgbv:http_errors:ratio5m", "{{service}}")],
                (16, 0, 8, 8),
                **thresholds(
                    [{"color": "green", "value": None}, {"color": "red", "value": 0.01}], unit="percentunit"
                ),
            ),
            panel(
                "timeseries",
                "延遲 p95",
                [target("dgbv:http_latency_seconds:p95_5m", "{{service}}")],
                (0, 8, 8, 8),
                **thresholds([{"color": "green", "value": None}, {"color": "orange", "value": 1}], unit="s"),
            ),
            panel(
                "stat",
                "KPI 資料距上次同步",
                [target("dgbv:sync_age_seconds", "同步延遲"), target("dgbv_sync_source_up", "可連線 intake")],
                (8, 8, 8, 8),
                **thresholds([{"color": "green", "value": None}, {"color": "red", "value": 600}], unit="s"),
            ),
            panel(
                "stat",
                "提醒信件佇列",
                [
                    target("dgbv_outbox_pending", "待寄"),
                    target("dgbv_outbox_oldest_pending_age_seconds", "最舊等待秒數"),
                ],
                (16, 8, 8, 8),
                **thresholds([{"color": "green", "value": None}, {"color": "orange", "value": 10}]),
            ),
            panel(
                "timeseries",
                "信件：建立、寄出、失敗（每小時）",
                [
                    target(
                        "sum by (rule) (max without (instance) (increase(dgbv_notifications_created_total[1h])))",
                        "建立 {{rule}}",
                    ),
                    target(
                        "sum by (rule) (max without (instance) (increase(dgbv_notifications_sent_total[1h])))",
                        "寄出 {{rule}}",
                    ),
                    target(
                        "sum by (rule) (max without (instance) (increase(dgbv_notifications_failed_total[1h])))",
                        "失敗 {{rule}}",
                    ),
                ],
                (0, 16, 16, 8),
                **thresholds([{"color": "blue", "value": None}]),
            ),
            panel(
                "stat",
                "上次提醒評估距今",
                [target("time() - dgbv_notify_last_evaluation_timestamp_seconds", "秒")],
                (16, 16, 8, 8),
                **thresholds([{"color": "green", "value": None}, {"color": "red", "value": 90000}], unit="s"),
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
