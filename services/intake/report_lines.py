"""What a quarterly report shows line by line: each action of the bureau with its metrics, the
planned annual value, the earlier quarters' values, what is saved (or typed) for this quarter, and
what the plan's rules find behind. The report form and the Excel workbook are both drawn from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.intake import reports, targets
from services.intake.models import Report
from shared import rules as plan_rules
from shared.auth import Principal
from shared.catalog import Action, Metric, Program
from shared.catalog.schema import Bureau
from shared.periods import Quarter


@dataclass(frozen=True)
class MetricLine:
    """One metric of an action: its planned annual value, earlier quarters and this quarter
    (a metric counted by sex has this quarter's parts; its value is their total)."""

    metric: Metric
    planned: int | None
    earlier: dict[int, int | None]
    value: int | None
    by_sex: dict[str, int | None] | None = None


@dataclass(frozen=True)
class ActionLines:
    """One action of the bureau with its metric lines and its texts."""

    action: Action
    program: Program
    metrics: tuple[MetricLine, ...]
    note: str | None
    delay_reason: str | None
    countermeasure: str | None
    behind: tuple[dict, ...]


@dataclass(frozen=True)
class ReportSheet:
    """Everything the report form and the workbook show for one bureau and quarter."""

    bureau: Bureau
    quarter: Quarter
    due: dt.date
    plan_title: str
    narrative: str
    actions: tuple[ActionLines, ...]
    report: Report | None


def report_sheet(
    session: Session,
    principal: Principal,
    rules: reports.Rules,
    bureau_id: str,
    quarter: Quarter,
    *,
    content: dict | None = None,
) -> ReportSheet:
    """Gather the lines of a report; `content` (narrative and actions) replaces the saved content."""
    catalog = rules.catalog
    bureau = catalog.bureau(bureau_id)
    report = reports.find_report(session, bureau_id, quarter)
    if content is None:
        content = {
            "narrative": report.narrative if report else "",
            "actions": dict(report.actions) if report else {},
        }
    planned = {
        (t.action, t.metric): t.annual
        for t in targets.list_targets(session, catalog, year=quarter.year, bureau=bureau_id)
    }
    earlier = [
        r
        for r in reports.list_reports(session, principal, year=quarter.year, bureau=bureau_id)
        if r.quarter < quarter.quarter and plan_rules.counts_as_submitted(r.status)
    ]
    # The report logic judges progress on a report; an unsaved one is judged as it would be saved.
    judged = Report(bureau=bureau_id, year=quarter.year, quarter=quarter.quarter, actions=content["actions"])
    behind = reports.behind_actions(session, rules, judged)
    lines = []
    for action in catalog.actions_for(bureau_id):
        entry = content["actions"].get(action.id, {})
        values, by_sex = entry.get("values", {}), entry.get("by_sex", {})
        metrics = tuple(
            MetricLine(
                metric=metric,
                planned=planned.get((action.id, metric.id)),
                earlier={
                    r.quarter: r.actions.get(action.id, {}).get("values", {}).get(metric.id) for r in earlier
                },
                value=values.get(metric.id),
                by_sex={sex: (by_sex.get(metric.id) or {}).get(sex) for sex in plan_rules.SEXES_REPORTED}
                if metric.by_sex
                else None,
            )
            for metric in action.metrics
        )
        lines.append(
            ActionLines(
                action=action,
                program=catalog.program(action.program),
                metrics=metrics,
                note=entry.get("note"),
                delay_reason=entry.get("delay_reason"),
                countermeasure=entry.get("countermeasure"),
                behind=tuple(behind.get(action.id, ())),
            )
        )
    return ReportSheet(
        bureau=bureau,
        quarter=quarter,
        due=plan_rules.due_date(rules.reporting, quarter),
        plan_title=catalog.plan.title,
        narrative=content["narrative"] or "",
        actions=tuple(lines),
        report=report,
    )


def progress_text(action: ActionLines) -> str:
    """How an action behind plan stands, in the words of the form: 落後 with the figures."""
    if not action.behind:
        return ""
    names = {m.metric.id: m.metric for m in action.metrics}
    parts = []
    for item in action.behind:
        metric = names.get(item["metric"])
        label = f"{metric.name}" if metric else item["metric"]
        unit = f" {metric.unit}" if metric else ""
        parts.append(
            f"{label}累計 {plain_number(item['reported_to_date'])}{unit}，"
            f"目標累計 {plain_number(item['planned_to_date'])}{unit}"
        )
    return "進度落後：" + "；".join(parts)


def planned_text(line: MetricLine) -> int | str:
    """The annual plan beside a metric: its target, 未設定, or for a caseload metric why it has none."""
    if not line.metric.judged:
        return "案件量，不設目標"
    return line.planned if line.planned is not None else "未設定"


def plain_number(value: float) -> str:
    """3 or 2.5: planned values are fractions when a year is split evenly."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
