"""Activity progress: each action metric's year to date at a quarter, judged by the plan's rules.

reported_to_date = the values of the bureau's reports of quarters 1..q that count as submitted;
an output metric is judged against its target (shared/rules.py, judge); a caseload metric (demand:
referrals, victims served) is shown beside the same quarters of the year before, never judged.

Each row has a `state`:
- behind / on_plan: an output metric of a submitted report, judged;
- no_target: an output metric without a target for the year (or with nothing planned yet);
- caseload: a caseload metric, with its trend;
- not_yet_due: the quarter's due date has not passed, so nothing is judged yet;
- not_reported: the due date has passed but the bureau has not submitted (compliance says so).
Bureaus and programs are rolled up as the mean of their judged metrics' ratios.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from shared import rules
from shared.catalog import Catalog, Metric
from shared.numbers import HUNDRED, half_up
from shared.periods import Quarter

BEHIND, ON_PLAN, NO_TARGET, CASELOAD = "behind", "on_plan", "no_target", "caseload"
NOT_YET_DUE, NOT_REPORTED = "not_yet_due", "not_reported"
JUDGED_STATES = (BEHIND, ON_PLAN)


def _to_date(reports: list, bureau: str, action: str, metric: Metric, year: int, quarter: int):
    """The bureau's reported total (and parts by sex) of a metric for quarters 1..quarter of a year."""
    total, parts = 0, dict.fromkeys(rules.SEXES_REPORTED, 0) if metric.by_sex else None
    for report in reports:
        if report.bureau == bureau and report.year == year and report.quarter <= quarter:
            total += (report.values.get(action) or {}).get(metric.id) or 0
            if parts is not None:
                given = ((report.by_sex or {}).get(action) or {}).get(metric.id) or {}
                for sex in parts:
                    parts[sex] += given.get(sex) or 0
    return total, parts


def action_progress(
    catalog: Catalog, quarter: Quarter, targets: Iterable, reports: Iterable, now: dt.datetime
) -> list[dict]:
    """One row per action metric of the catalog at `quarter`, in catalog order."""
    reporting = catalog.reporting
    due_passed = now > rules.due_at(reporting, quarter)
    counted = [r for r in reports if rules.counts_as_submitted(r.status)]
    submitted = {r.bureau for r in counted if (r.year, r.quarter) == (quarter.year, quarter.quarter)}
    plans = {(t.action, t.metric): t for t in targets if t.year == quarter.year}
    rows = []
    for action in catalog.actions:
        for metric in action.metrics:
            reported, by_sex = _to_date(
                counted, action.bureau, action.id, metric, quarter.year, quarter.quarter
            )
            row = {
                "action": action.id,
                "bureau": action.bureau,
                "program": action.program,
                "metric": metric.id,
                "metric_name": metric.name,
                "unit": metric.unit,
                "kind": metric.kind,
                "reported_to_date": reported,
                "by_sex_to_date": by_sex,
                "planned_to_date": None,
                "ratio": None,
                "percent": None,
                "previous_year_to_date": None,
                "change_pct": None,
                "behind": False,
            }
            if metric.judged:
                target = plans.get((action.id, metric.id))
                planned = (
                    rules.planned_to_date(target.annual, target.quarterly, quarter.quarter)
                    if target
                    else None
                )
                judgement = rules.judge(metric, planned, reported, reporting.behind_threshold)
                row.update(
                    planned_to_date=half_up(planned) if planned is not None else None,
                    ratio=judgement.ratio,
                    percent=judgement.percent,
                )
                if not due_passed:
                    row["state"] = NOT_YET_DUE
                elif action.bureau not in submitted:
                    row["state"] = NOT_REPORTED
                elif not planned:
                    row["state"] = NO_TARGET  # no target, or nothing planned yet: nothing to judge
                else:
                    row["state"] = BEHIND if judgement.behind else ON_PLAN
                    row["behind"] = judgement.behind
            else:
                previous, _ = _to_date(
                    counted, action.bureau, action.id, metric, quarter.year - 1, quarter.quarter
                )
                row.update(state=CASELOAD, previous_year_to_date=previous)
                if previous:
                    row["change_pct"] = half_up((Decimal(reported) / previous - 1) * HUNDRED)
            rows.append(row)
    return rows


def rollup(rows: list[dict], by: str) -> list[dict]:
    """Per bureau or program (`by`): the mean of the judged metrics' ratios and the actions behind."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row[by], []).append(row)
    result = []
    for key, members in groups.items():
        ratios = [
            row["ratio"] for row in members if row["state"] in JUDGED_STATES and row["ratio"] is not None
        ]
        behind = []
        for row in members:
            if row["behind"] and row["action"] not in behind:
                behind.append(row["action"])
        mean = half_up(sum(ratios) / len(ratios), 4) if ratios else None
        result.append({by: key, "ratio": mean, "percent": rules.percent(mean), "behind_actions": behind})
    return result


def progress_document(catalog: Catalog, quarter: Quarter, rows: list[dict], due_passed: bool) -> dict:
    """The progress of a quarter with its rollups."""
    bureau_order = {b.id: i for i, b in enumerate(catalog.bureaus)}
    program_order = {p.id: i for i, p in enumerate(catalog.programs)}
    return {
        "year": quarter.year,
        "quarter": quarter.quarter,
        "period_label": quarter.label_zh,
        "due_passed": due_passed,
        "threshold": catalog.reporting.behind_threshold,
        "threshold_percent": rules.percent(catalog.reporting.behind_threshold),
        "actions": rows,
        "bureaus": sorted(rollup(rows, "bureau"), key=lambda b: bureau_order.get(b["bureau"], 99)),
        "programs": sorted(rollup(rows, "program"), key=lambda p: program_order.get(p["program"], 99)),
    }
