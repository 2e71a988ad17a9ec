"""Report compliance per quarter, as DHIS2 defines its reporting rates.

Every bureau of the catalog is expected to report every quarter. A bureau has submitted when
its report is submitted, accepted or returned (it was submitted, then sent back); it is on time
when its first submission fell on or before the due date of the periods module.

- completeness = bureaus submitted / bureaus expected
- timeliness = bureaus submitted on time / bureaus expected
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from services.kpi.numbers import ratio
from shared.catalog import Catalog
from shared.periods import TAIPEI, Quarter, days_late, due_at, due_date

SUBMITTED_STATUSES = ("submitted", "accepted", "returned")
NOT_STARTED = "not_started"


def _submitted(report) -> bool:
    return report is not None and report.status in SUBMITTED_STATUSES and report.submitted_at is not None


def tracked_quarters(catalog: Catalog, reports: Iterable, now: dt.datetime, due_days: int) -> list[Quarter]:
    """Quarters from the first reporting year whose due date has passed or that have submissions."""
    submitted = {Quarter(r.year, r.quarter) for r in reports if _submitted(r)}
    first = Quarter(catalog.plan.reporting_first_year, 1)
    current = Quarter.containing(now.astimezone(TAIPEI).date())
    quarters, quarter = [], first
    while quarter <= current:
        if now > due_at(quarter, due_days) or quarter in submitted:
            quarters.append(quarter)
        quarter = quarter.next()
    return sorted(set(quarters) | {q for q in submitted if q >= first})


def quarter_compliance(
    catalog: Catalog, quarter: Quarter, reports: Iterable, now: dt.datetime, due_days: int
) -> dict:
    """Who reported for `quarter`, on time or how late, and the two rates."""
    by_bureau = {r.bureau: r for r in reports if (r.year, r.quarter) == (quarter.year, quarter.quarter)}
    due = due_date(quarter, due_days)
    today = now.astimezone(TAIPEI).date()
    bureaus = []
    for bureau in catalog.bureaus:
        report = by_bureau.get(bureau.id)
        submitted = _submitted(report)
        late = days_late(quarter, report.submitted_at, due_days) if submitted else None
        bureaus.append(
            {
                "bureau": bureau.id,
                "name": bureau.name,
                "status": report.status if report is not None else NOT_STARTED,
                "submitted": submitted,
                "submitted_at": report.submitted_at.isoformat() if submitted else None,
                "days_late": late,
                "on_time": submitted and late == 0,
                "days_overdue": 0 if submitted else max(0, (today - due).days),
            }
        )
    expected = len(bureaus)
    submitted_count = sum(b["submitted"] for b in bureaus)
    on_time = sum(b["on_time"] for b in bureaus)
    return {
        "year": quarter.year,
        "quarter": quarter.quarter,
        "period_label": quarter.label_zh,
        "due_date": due.isoformat(),
        "due_passed": now > due_at(quarter, due_days),
        "expected": expected,
        "submitted": submitted_count,
        "on_time": on_time,
        "completeness": ratio(submitted_count, expected),
        "timeliness": ratio(on_time, expected),
        "bureaus": bureaus,
    }
