"""Activity progress: each action metric's year-to-date reported value against its plan.

planned_to_date = the target's quarterly values for quarters 1..q, or annual x q / 4 without a split;
reported_to_date = the values of the bureau's submitted, accepted or returned reports for 1..q;
ratio = reported_to_date / planned_to_date; `behind` when the ratio is under the threshold.
Bureaus and programs are rolled up as the mean of their action metrics' ratios.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from services.kpi.compliance import SUBMITTED_STATUSES
from services.kpi.numbers import half_up, ratio
from shared.catalog import Catalog
from shared.periods import TAIPEI, Quarter

REPORTED_STATUSES = SUBMITTED_STATUSES


def planned_to_date(annual: int, quarterly: list[int] | None, quarter: int) -> Decimal:
    """The plan for quarters 1..quarter: the quarterly split, or an even share of the year."""
    if quarterly:
        return Decimal(sum(quarterly[:quarter]))
    return Decimal(annual) * quarter / 4


def tracked_quarters(targets: Iterable, reports: Iterable, now: dt.datetime) -> list[Quarter]:
    """For each year with targets, the quarters that have ended or have reported values."""
    years = {t.year for t in targets}
    today = now.astimezone(TAIPEI).date()
    reported = {Quarter(r.year, r.quarter) for r in reports if r.status in REPORTED_STATUSES}
    quarters = []
    for year in sorted(years):
        for q in range(1, 5):
            quarter = Quarter(year, q)
            if quarter.end < today or quarter in reported:
                quarters.append(quarter)
    return quarters


def action_progress(
    catalog: Catalog, quarter: Quarter, targets: Iterable, reports: Iterable, threshold: float
) -> list[dict]:
    """One row per action metric that has a target for the quarter's year, in catalog order."""
    threshold = Decimal(str(threshold))
    own = [t for t in targets if t.year == quarter.year]
    reported_reports = [
        r
        for r in reports
        if r.year == quarter.year and r.quarter <= quarter.quarter and r.status in REPORTED_STATUSES
    ]
    order = {(a.id, m.id): (i, j) for i, a in enumerate(catalog.actions) for j, m in enumerate(a.metrics)}
    rows = []
    for target in sorted(own, key=lambda t: order.get((t.action, t.metric), (len(order), 0))):
        try:
            action = catalog.action(target.action)
            metric = catalog.metric(target.action, target.metric)
        except KeyError:
            continue  # a target of an action the catalog no longer has
        planned = planned_to_date(target.annual, target.quarterly, quarter.quarter)
        reported = sum(
            (r.values.get(action.id) or {}).get(metric.id) or 0
            for r in reported_reports
            if r.bureau == action.bureau
        )
        share = ratio(reported, planned)
        rows.append(
            {
                "action": action.id,
                "bureau": action.bureau,
                "program": action.program,
                "metric": metric.id,
                "metric_name": metric.name,
                "unit": metric.unit,
                "planned_to_date": half_up(planned),
                "reported_to_date": reported,
                "ratio": share,
                "behind": share is not None and share < threshold,
            }
        )
    return rows


def rollup(rows: list[dict], by: str) -> list[dict]:
    """Per bureau or program (`by`): the mean of the action metrics' ratios and the actions behind."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row[by], []).append(row)
    result = []
    for key, members in groups.items():
        ratios = [row["ratio"] for row in members if row["ratio"] is not None]
        behind = []
        for row in members:
            if row["behind"] and row["action"] not in behind:
                behind.append(row["action"])
        result.append(
            {
                by: key,
                "ratio": half_up(sum(ratios) / len(ratios), 4) if ratios else None,
                "behind_actions": behind,
            }
        )
    return result


def progress_document(catalog: Catalog, quarter: Quarter, rows: list[dict], threshold: float) -> dict:
    """The progress of a quarter with its rollups."""
    bureau_order = {b.id: i for i, b in enumerate(catalog.bureaus)}
    program_order = {p.id: i for i, p in enumerate(catalog.programs)}
    return {
        "year": quarter.year,
        "quarter": quarter.quarter,
        "threshold": threshold,
        "actions": rows,
        "bureaus": sorted(rollup(rows, "bureau"), key=lambda b: bureau_order.get(b["bureau"], 99)),
        "programs": sorted(rollup(rows, "program"), key=lambda p: program_order.get(p["program"], 99)),
    }
