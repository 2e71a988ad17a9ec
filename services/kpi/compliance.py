"""Report compliance per quarter, as DHIS2 defines its reporting rates.

Every bureau of the catalog is expected to report every tracked quarter. What counts as submitted,
the due date and each report's state (on time, late, not yet due, overdue) are the plan's rules
(shared/rules.py); this module only counts.

- completeness = bureaus submitted / bureaus expected
- timeliness = bureaus submitted on time / bureaus expected

Each bureau's row also says until when its quarter is open and whether it is locked (shared/rules.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from shared import rules
from shared.catalog import Catalog
from shared.numbers import ratio
from shared.periods import Quarter


def _submitted(report) -> bool:
    return report is not None and rules.counts_as_submitted(report.status) and report.submitted_at is not None


def quarter_compliance(catalog: Catalog, quarter: Quarter, reports: Iterable, now: dt.datetime) -> dict:
    """Who reported for `quarter`, on time or how late, and the two rates."""
    reporting = catalog.reporting
    by_bureau = {r.bureau: r for r in reports if (r.year, r.quarter) == (quarter.year, quarter.quarter)}
    bureaus = []
    for bureau in catalog.bureaus:
        report = by_bureau.get(bureau.id)
        submitted = _submitted(report)
        state = rules.report_state(
            reporting,
            quarter,
            report.status if report else None,
            report.submitted_at if report else None,
            now,
        )
        reopened_at = report.reopened_at if report is not None else None
        open_until = rules.open_until(reporting, quarter, reopened_at)
        bureaus.append(
            {
                "bureau": bureau.id,
                "name": bureau.name,
                "status": report.status if report is not None else rules.NOT_STARTED,
                "state": state,
                "submitted": submitted,
                "submitted_at": report.submitted_at.isoformat() if submitted else None,
                "days_late": rules.days_late(reporting, quarter, report.submitted_at) if submitted else None,
                "on_time": state == rules.ON_TIME,
                "days_overdue": rules.days_overdue(reporting, quarter, now) if state == rules.OVERDUE else 0,
                # Past this instant the bureau's page refuses the quarter (the catalog's lock rule):
                # an overdue report of an open quarter is a gap someone can still close.
                "open_until": open_until.isoformat(),
                "locked": rules.is_locked(reporting, quarter, now, reopened_at),
            }
        )
    expected = len(bureaus)
    submitted_count = sum(b["submitted"] for b in bureaus)
    on_time = sum(b["on_time"] for b in bureaus)
    return {
        "year": quarter.year,
        "quarter": quarter.quarter,
        "period_label": quarter.label_zh,
        "due_date": rules.due_date(reporting, quarter).isoformat(),
        "due_passed": now > rules.due_at(reporting, quarter),
        "expected": expected,
        "submitted": submitted_count,
        "on_time": on_time,
        "completeness": ratio(submitted_count, expected),
        "timeliness": ratio(on_time, expected),
        "bureaus": bureaus,
    }
