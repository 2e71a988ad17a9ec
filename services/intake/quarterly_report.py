"""The quarterly 管考 report: kpi's judgements of a quarter, with the bureaus' own words, for people.

kpi judges (indicators against their goals, compliance, progress, Tables 1-3 under the small-cell
rule); this module only reads those judgements (`fetch`), adds the 落後原因 and 因應對策 the bureaus
wrote in their reports (`behind_reasons`, intake's own database) and words everything as the
committee reads it (`assemble`): names not codes, ROC years, numbers rounded half-up. Nothing here
judges anything again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.kpi_client import KpiClient
from services.intake.models import Report
from shared import rules as plan_rules
from shared.catalog import Catalog
from shared.numbers import half_up
from shared.periods import Quarter, roc_year

# kpi's and the plan's words for verdicts, goals and report statuses (shared/rules.py): the report,
# the pages, the metrics and the e-mails agree.
INDICATOR_STATUS_LABELS = plan_rules.INDICATOR_STATUS_NAMES
GOAL_KIND_LABELS = plan_rules.GOAL_KIND_NAMES
REPORT_STATUS_LABELS = plan_rules.REPORT_STATUS_NAMES
# Tables 1-3 of the plan document: (kind of kpi table, crime category).
SEED_TABLES = (
    ("表一", "suspects", "secret_filming"),
    ("表二", "victims", "secret_filming"),
    ("表三", "suspects", "obscene_distribution"),
)
COMPLIANCE_QUARTERS = 8  # quarters of completeness and timeliness in the chart, ending at the report's
WITHHELD_MARK = "x"  # as kpi's CSV and XLSX print a withheld cell
ZERO_MARK = "-"  # as the plan's tables print a zero


# -- reading kpi ------------------------------------------------------------------------------------
@dataclass
class KpiFigures:
    """What kpi answered for a quarter, as its JSON; compliance and progress are None for a quarter
    kpi does not track."""

    status: dict
    indicators: list[dict]
    compliance: dict | None
    compliance_history: list[dict]
    progress: dict | None
    trends: list[dict]
    tables: list[tuple[str, dict]]


def table_years(quarter: Quarter) -> tuple[int, int]:
    """Tables 1-3 cover the two whole years before the report's year (近二年, as the plan's do)."""
    return quarter.year - 2, quarter.year - 1


def fetch(client: KpiClient, catalog: Catalog, quarter: Quarter) -> KpiFigures:
    """Every figure of the report from kpi (KpiUnavailable when it cannot answer)."""
    period = {"year": quarter.year, "quarter": quarter.quarter}
    first, last = table_years(quarter)
    history = catalog.plan.history_first_year
    return KpiFigures(
        status=client.get("/status"),
        indicators=client.get("/indicators", {"year": quarter.year}),
        compliance=client.get("/compliance", period, missing_ok=True),
        compliance_history=client.get("/compliance/all"),
        progress=client.get("/progress", period, missing_ok=True),
        trends=[
            client.get(
                "/trends",
                {"indicator": i.id, "from_year": min(history, quarter.year - 1), "to_year": quarter.year - 1},
            )
            for i in catalog.indicators
        ],
        tables=[
            (
                number,
                client.get(f"/tables/{kind}", {"category": category, "from_year": first, "to_year": last}),
            )
            for number, kind, category in SEED_TABLES
        ],
    )


def behind_rows(figures: KpiFigures) -> list[dict]:
    """kpi's rows of action metrics behind plan at the quarter."""
    return [row for row in (figures.progress or {}).get("actions", []) if row["state"] == "behind"]


def behind_reasons(session: Session, quarter: Quarter, rows: list[dict]) -> dict[tuple[str, str], dict]:
    """The 落後原因 and 因應對策 each bureau wrote for its actions behind plan, from its report of the
    quarter, keyed by (bureau, action)."""
    bureaus = sorted({row["bureau"] for row in rows})
    if not bureaus:
        return {}
    reports = session.scalars(
        select(Report).where(
            Report.year == quarter.year, Report.quarter == quarter.quarter, Report.bureau.in_(bureaus)
        )
    )
    found = {}
    for report in reports:
        for action, entry in (report.actions or {}).items():
            found[(report.bureau, action)] = {
                "delay_reason": entry.get("delay_reason"),
                "countermeasure": entry.get("countermeasure"),
            }
    return found


# -- how numbers read ---------------------------------------------------------------------------------
def number_text(value, places: int = 2) -> str:
    """A figure as people read it, rounded half-up: 1234 -> '1,234', 189.145 -> '189.15', 3.8 -> '3.80',
    a whole number without decimals, None -> '—'."""
    if value is None:
        return "—"
    rounded = half_up(Decimal(str(value)), places)
    return f"{rounded:,.0f}" if rounded == rounded.to_integral_value() else f"{rounded:,f}"


def change_text(value) -> str:
    """A change in percent as kpi gives it, rounded half-up: -2.5 -> '-2.50%'."""
    if value is None:
        return "—"
    return f"{half_up(Decimal(str(value))):+f}%"


def percent_text(ratio) -> str:
    """A ratio (0.8333) as a whole percent, half-up, by the plan's rule: '83%'."""
    if ratio is None:
        return "—"
    return f"{plan_rules.percent(Decimal(str(ratio)))}%"


def year_label(year: int) -> str:
    return f"民國{roc_year(year)}年"


# -- what the page shows ---------------------------------------------------------------------------
@dataclass
class IndicatorLine:
    name: str
    status: str
    status_label: str
    baseline_label: str
    baseline: str
    target: str
    through: str
    ytd_actual: str
    ytd_target: str
    change: str
    projection: str
    # For the chart: per quarter (label, count, the baseline year's count, seasonal target).
    quarters: list[tuple[str, int | None, int | None, float | None]]


@dataclass
class ComplianceLine:
    bureau: str
    report_status: str
    state: str
    state_label: str


@dataclass
class BehindMetric:
    name: str
    unit: str
    reported: str
    planned: str
    percent: str


@dataclass
class BehindAction:
    bureau: str
    action_label: str
    action_text: str
    metrics: list[BehindMetric]
    delay_reason: str | None
    countermeasure: str | None


@dataclass
class CaseloadLine:
    bureau: str
    action_label: str
    metric: str
    unit: str
    this_year: str
    last_year: str
    change: str


@dataclass
class TrendLine:
    name: str
    years: list[tuple[int, int | None]]  # (year, count)
    growth: str
    ratio_range: str


@dataclass
class TableView:
    number: str
    title: str
    unit: str
    label_header: str
    columns: list[str]
    rows: list[tuple[str, list[str], bool]]  # (label, cells, a total or share row)
    note: str | None
    withheld: int


@dataclass
class QuarterlyReport:
    quarter: Quarter
    demo_data: bool
    kpi_current_quarter: str | None
    indicators: list[IndicatorLine]
    indicator_year: str
    goals: list[tuple[str, str]]  # (目標 or 延續目標（非原方案所訂）, the catalog's text), once each
    compliance_tracked: bool
    completeness: str
    timeliness: str
    due_date: str
    compliance: list[ComplianceLine]
    compliance_history: list[tuple[str, float | None, float | None]]  # (label, completeness %, timeliness %)
    judged: bool
    threshold: str
    behind: list[BehindAction]
    caseload: list[CaseloadLine]
    trends: list[TrendLine]
    trend_span: str
    tables: list[TableView]
    tables_span: str
    dark_figure_note: str
    counts: dict = field(default_factory=dict)


def action_label(catalog: Catalog, action_id: str) -> tuple[str, str]:
    """How the plan names an action, and its text: 「初級預防－多元推廣宣導策略」第1項具體作法."""
    try:
        action = catalog.action(action_id)
    except KeyError:
        return action_id, ""
    return f"「{catalog.program(action.program).name}」第{action.number}項具體作法", action.text


def bureau_name(catalog: Catalog, bureau_id: str) -> str:
    try:
        return catalog.bureau(bureau_id).name
    except KeyError:
        return bureau_id


def indicator_line(item: dict) -> IndicatorLine:
    latest = item.get("latest_quarter")
    return IndicatorLine(
        name=item["name"],
        status=item["status"],
        status_label=INDICATOR_STATUS_LABELS.get(item["status"], item["status"]),
        baseline_label=year_label(item["baseline_year"]),
        baseline=number_text(item.get("baseline")),
        target=number_text(item.get("target")),
        through=(f"第1季至第{latest}季" if latest > 1 else "第1季") if latest else "尚無本年資料",
        ytd_actual=number_text(item.get("ytd_actual")),
        ytd_target=number_text(item.get("ytd_target")),
        change=change_text(item.get("change_pct")),
        projection=number_text(item.get("projection")),
        quarters=[
            (f"第{q['quarter']}季", q.get("count"), q.get("baseline_count"), q.get("seasonal_target"))
            for q in item.get("quarters", [])
        ],
    )


def compliance_line(row: dict) -> ComplianceLine:
    state = row["state"]
    if state == "on_time":
        label = "如期送出"
    elif state == "late":
        label = f"逾期 {row.get('days_late') or 0} 天送出"
    elif state == "overdue":
        label = f"已逾期 {row.get('days_overdue') or 0} 天，尚未送出"
    else:
        label = "尚未到填報期限"
    return ComplianceLine(
        bureau=row["name"],
        report_status=REPORT_STATUS_LABELS.get(row.get("status"), row.get("status") or "未填報"),
        state=state,
        state_label=label,
    )


def behind_actions(catalog: Catalog, rows: list[dict], reasons: dict) -> list[BehindAction]:
    """Every action behind plan, in the catalog's order, with the metrics behind and the bureau's words."""
    order = {action.id: index for index, action in enumerate(catalog.actions)}
    grouped: dict[tuple[str, str], list[dict]] = {}
    for row in sorted(rows, key=lambda r: (order.get(r["action"], len(order)), r["metric"])):
        grouped.setdefault((row["bureau"], row["action"]), []).append(row)
    found = []
    for (bureau, action), metric_rows in grouped.items():
        label, text = action_label(catalog, action)
        words = reasons.get((bureau, action), {})
        found.append(
            BehindAction(
                bureau=bureau_name(catalog, bureau),
                action_label=label,
                action_text=text,
                metrics=[
                    BehindMetric(
                        name=row["metric_name"],
                        unit=row["unit"],
                        reported=number_text(row["reported_to_date"]),
                        planned=number_text(row["planned_to_date"]),
                        percent=f"{row['percent']}%" if row.get("percent") is not None else "—",
                    )
                    for row in metric_rows
                ],
                delay_reason=words.get("delay_reason") or None,
                countermeasure=words.get("countermeasure") or None,
            )
        )
    return found


def caseload_lines(catalog: Catalog, rows: list[dict]) -> list[CaseloadLine]:
    """The caseload metrics beside the same quarters of the year before: a trend, never a verdict."""
    order = {action.id: index for index, action in enumerate(catalog.actions)}
    lines = []
    for row in sorted(rows, key=lambda r: (order.get(r["action"], len(order)), r["metric"])):
        if row["state"] != "caseload":
            continue
        label, _ = action_label(catalog, row["action"])
        lines.append(
            CaseloadLine(
                bureau=bureau_name(catalog, row["bureau"]),
                action_label=label,
                metric=row["metric_name"],
                unit=row["unit"],
                this_year=number_text(row["reported_to_date"]),
                last_year=number_text(row.get("previous_year_to_date")),
                change=change_text(row.get("change_pct")),
            )
        )
    return lines


def trend_line(item: dict) -> TrendLine:
    span = item.get("male_female_ratio_range")
    ratio = (
        f"男性為女性的 {number_text(span['min'])} 倍至 {number_text(span['max'])} 倍"
        if span
        else "男女比：資料不足或不陳示"
    )
    growth = item.get("growth_rate_pct")
    return TrendLine(
        name=item["name"],
        years=[(y["year"], y.get("count")) for y in item.get("years", [])],
        growth=f"年增率 {number_text(growth)}%" if growth is not None else "年增率：資料不足",
        ratio_range=ratio,
    )


def _cell(value, suppressed: bool, share: bool) -> str:
    if suppressed:
        return WITHHELD_MARK
    if value is None or value == 0:
        return ZERO_MARK
    return f"{half_up(Decimal(str(value))):f}" if share else number_text(value)


def table_view(number: str, table: dict) -> TableView:
    """One of Tables 1-3 as kpi withheld it: x where withheld, - for zero, shares with two decimals."""
    rows = []
    for row in table["rows"]:
        share = row["row_type"] == "share"
        cells = [
            _cell(value, suppressed, share)
            for value, suppressed in zip(row["values"], row["suppressed"], strict=True)
        ]
        rows.append((row["label"], cells, row["row_type"] in ("total", "share")))
    disclosure = table.get("disclosure") or {}
    return TableView(
        number=number,
        title=table["title"],
        unit=table["unit"],
        label_header=table["label_header"],
        columns=table["columns"],
        rows=rows,
        note=disclosure.get("note"),
        withheld=disclosure.get("suppressed_cells") or 0,
    )


def _percent_value(ratio) -> float | None:
    return None if ratio is None else float(plan_rules.percent(Decimal(str(ratio))))


def compliance_history(history: list[dict], quarter: Quarter) -> list[tuple[str, float | None, float | None]]:
    """Completeness and timeliness (whole percent) of the quarters up to the report's, the last few."""
    shown = [
        item
        for item in history
        if Quarter(item["year"], item["quarter"]) <= quarter and item.get("due_passed", True)
    ][-COMPLIANCE_QUARTERS:]
    return [
        (
            f"{roc_year(item['year'])}年第{item['quarter']}季",
            _percent_value(item.get("completeness")),
            _percent_value(item.get("timeliness")),
        )
        for item in shown
    ]


def assemble(catalog: Catalog, quarter: Quarter, figures: KpiFigures, reasons: dict) -> QuarterlyReport:
    """The report of a quarter from kpi's figures and the bureaus' reasons, worded for the committee."""
    compliance = figures.compliance
    progress = figures.progress or {}
    current = figures.status.get("current_quarter")
    trend_years = [y for item in figures.trends for y, _ in trend_line(item).years]
    behind = behind_actions(catalog, behind_rows(figures), reasons)
    report = QuarterlyReport(
        quarter=quarter,
        demo_data=bool(figures.status.get("demo_data")),
        kpi_current_quarter=Quarter.parse(current).label_zh if current else None,
        indicators=[indicator_line(item) for item in figures.indicators],
        indicator_year=year_label(quarter.year),
        goals=list(
            dict.fromkeys(
                (GOAL_KIND_LABELS.get(i["goal"]["kind"], i["goal"]["kind"]), i["goal"]["text"])
                for i in figures.indicators
                if i.get("goal")
            )
        ),
        compliance_tracked=compliance is not None,
        completeness=percent_text(compliance["completeness"]) if compliance else "—",
        timeliness=percent_text(compliance["timeliness"]) if compliance else "—",
        due_date=_roc_date_text(compliance["due_date"]) if compliance else "—",
        compliance=[compliance_line(row) for row in compliance["bureaus"]] if compliance else [],
        compliance_history=compliance_history(figures.compliance_history, quarter),
        judged=bool(progress.get("due_passed")),
        threshold=f"{progress['threshold_percent']}%" if progress.get("threshold_percent") else "—",
        behind=behind,
        caseload=caseload_lines(catalog, progress.get("actions", [])),
        trends=[trend_line(item) for item in figures.trends],
        trend_span=(
            f"民國{roc_year(min(trend_years))}年至{roc_year(max(trend_years))}年" if trend_years else ""
        ),
        tables=[table_view(number, table) for number, table in figures.tables],
        tables_span="民國{}年至{}年".format(*(roc_year(y) for y in table_years(quarter))),
        dark_figure_note=catalog.plan.dark_figure_note,
    )
    report.counts = {
        "late_bureaus": sum(line.state in ("late", "overdue") for line in report.compliance),
        "behind_actions": len(behind),
        "indicators_off": sum(
            line.status in ("at_risk", "off_track", "missed") for line in report.indicators
        ),
    }
    return report


def _roc_date_text(iso_day: str) -> str:
    year, month, day = (int(part) for part in iso_day.split("-"))
    return f"{roc_year(year)}年{month}月{day}日"
