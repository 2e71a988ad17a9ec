"""The computed snapshot: every figure the API and /metrics serve, stored in the kpi database.

Only the scheduler computes it (after each sync); web workers and scrapes only read it, so
every worker and replica answers alike and a scrape never scans the records. Computing it never
reads the case records either: their counts are kept per cell as the records arrive (cells.py),
so a cycle costs the same at a thousand records as at a million.

Sections (each row is one section and key; numbers are JSON numbers, rounded as documented):
- `summary`/`current`: the years and quarters the other sections hold, and the current period
  (shared/rules.py: the current reporting quarter and its year) that every default uses;
- `indicators`/<year>: the indicators' standing in that year against that year's goal;
- `outcomes`/<indicator>: the quarterly counts;
- `compliance`/<2022Q2>: report compliance of a quarter;
- `progress`/<2022Q2>: activity progress at a quarter, judged (behind or not) once it is due;
- `cases`/<category>: the case records counted into cells (cells.py), for the tables;
- `case_years`/<category>: case records per role, sex and year, for the trends;
- `gbv_types`/`all`: records per type, role, sex and year, for /metrics, under the small-cell rule;
- `trends`/<indicator>: the indicator's trend over the default span (services/kpi/trends.py), for
  /metrics, under the small-cell rule.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from services.kpi import cells, compliance, disclosure, progress, tables, trends
from services.kpi.models import (
    DEMO_REFS,
    CaseRow,
    InstallationRow,
    OutcomeRow,
    ReportRow,
    SnapshotItem,
    SyncState,
    TargetRow,
)
from shared import rules
from shared.catalog import Catalog
from shared.db import Database
from shared.errors import DomainError, NotFound
from shared.periods import Quarter

log = logging.getLogger(__name__)


class NotReady(DomainError):
    """No snapshot has been computed yet."""

    status = 503


def jsonable(value):
    """Decimals become JSON numbers; they are already rounded to their published precision."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def _case_sections(catalog: Catalog, cells: list, type_cells: list) -> dict[tuple[str, str], dict]:
    by_category: dict[str, dict] = defaultdict(lambda: {"cells": [], "types": []})
    years: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    for cell in cells:
        by_category[cell.category]["cells"].append([cell.year, *cell[2:]])
        role_sex = years[cell.category][cell.role][cell.sex]
        role_sex[str(cell.year)] = role_sex.get(str(cell.year), 0) + cell.count
    for cell in type_cells:
        by_category[cell.category]["types"].append([cell.year, cell.role, cell.sex, cell.type, cell.count])
    sections = {("cases", category): data for category, data in by_category.items()}
    sections.update({("case_years", category): data for category, data in years.items()})
    # Only what the small-cell rule lets /metrics publish is stored for it.
    sections[("gbv_types", "all")] = disclosure.type_counts(catalog, type_cells)
    return sections


def compute(
    catalog: Catalog,
    *,
    reports: list,
    targets: list,
    outcomes: list,
    case_cells: tuple[list[tables.CaseCell], list[tables.TypeCell]],
    now: dt.datetime,
    first_quarter: Quarter | None = None,
    demo_data: bool = False,
) -> dict[tuple[str, str], dict]:
    """Every section of the snapshot from the read model's rows; `first_quarter` is the deployment's
    first tracked quarter as intake recorded it (the plan's own first quarter if it recorded none)."""
    sections: dict[tuple[str, str], dict] = {}
    first = first_quarter or catalog.reporting.first_quarter
    current = rules.current_reporting_quarter(catalog.reporting, first, now)
    current_year = rules.current_year(catalog.reporting, first, now)

    counts: dict[str, dict[tuple[int, int], int]] = defaultdict(dict)
    for row in outcomes:
        counts[row.indicator][(row.year, row.quarter)] = row.count
    for indicator in catalog.indicators:
        history = sorted(counts.get(indicator.id, {}).items())
        sections[("outcomes", indicator.id)] = {
            "counts": [{"year": y, "quarter": q, "count": n} for (y, q), n in history]
        }
    last_year = max([current_year, *(y for c in counts.values() for (y, _) in c)])
    indicator_years = list(range(catalog.plan.history_first_year + 1, last_year + 1))
    for year in indicator_years:
        sections[("indicators", str(year))] = {"items": rules.assess_indicators(catalog, year, counts)}

    quarters = rules.tracked_quarters(first, now)
    for quarter in quarters:
        key = str(quarter)
        sections[("compliance", key)] = compliance.quarter_compliance(catalog, quarter, reports, now)
        rows = progress.action_progress(catalog, quarter, targets, reports, now)
        sections[("progress", key)] = progress.progress_document(
            catalog, quarter, rows, sections[("compliance", key)]["due_passed"]
        )

    sections.update(_case_sections(catalog, *case_cells))
    # The trends /metrics publishes: the API's default span, under the small-cell rule.
    from_year, to_year = trends.default_span(catalog, current_year)
    for indicator in catalog.indicators:
        sections[("trends", indicator.id)] = trends.indicator_trend(
            indicator,
            sections[("outcomes", indicator.id)]["counts"],
            sections.get(("case_years", indicator.category)),
            from_year,
            to_year,
            catalog.disclosure,
        )
    sections[("summary", "current")] = {
        "computed_at": now.isoformat(),
        "first_quarter": str(first),
        "current_quarter": str(current) if current else None,
        "current_year": current_year,
        "indicator_years": indicator_years,
        "quarters": [str(q) for q in quarters],
        "case_categories": sorted({cell.category for cell in case_cells[0]}),
        "case_years": sorted({cell.year for cell in case_cells[0]}),
        "demo_data": demo_data,
    }
    return {key: jsonable(value) for key, value in sections.items()}


def recompute(database: Database, catalog: Catalog, *, now: dt.datetime) -> int:
    """Compute the snapshot from the read model and replace the stored one; return its cursor."""
    with database.session(write=False) as session:
        if session.get_bind().dialect.name == "postgresql":
            # Every table read in one consistent view, even while a sync commits.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        cursor = session.scalar(select(SyncState.cursor).where(SyncState.id == 1))
        sections = compute(
            catalog,
            reports=list(session.scalars(select(ReportRow))),
            targets=list(session.scalars(select(TargetRow))),
            outcomes=list(session.scalars(select(OutcomeRow))),
            case_cells=cells.read(session),
            now=now,
            first_quarter=first_quarter(session),
            demo_data=session.scalar(select(CaseRow.id).where(DEMO_REFS).limit(1)) is not None,
        )
    with database.transaction() as session:
        # The version row is locked first, so replacements take turns, and a slower computation
        # finishing after a newer one (a standby that took over, a `sync-once`) changes nothing.
        state = session.scalar(select(SyncState).where(SyncState.id == 1).with_for_update())
        if is_older(cursor, now, state.snapshot_cursor, state.snapshot_at):
            log.info(
                "kept the stored snapshot (cursor %s): it is newer than this one (cursor %s)",
                state.snapshot_cursor,
                cursor,
            )
            return state.snapshot_cursor
        session.execute(delete(SnapshotItem))
        session.execute(
            insert(SnapshotItem),
            [{"section": section, "key": key, "data": data} for (section, key), data in sections.items()],
        )
        state.snapshot_at, state.snapshot_cursor = now, cursor
    return cursor


def is_older(cursor: int, at: dt.datetime, stored_cursor: int | None, stored_at: dt.datetime | None) -> bool:
    """Whether a snapshot computed at `at` from the feed up to `cursor` is older than the stored one.

    The feed cursor is the version; of two snapshots of one cursor the later computed is newer
    (figures such as days overdue move with the clock)."""
    if stored_cursor is None:
        return False
    return (cursor, at) < (stored_cursor, stored_at or at)


def first_quarter(session: Session) -> Quarter | None:
    """The deployment's first tracked quarter, as intake's change feed last said."""
    recorded = session.scalar(select(InstallationRow.first_quarter).limit(1))
    return Quarter.parse(recorded) if recorded else None


# -- reading ---------------------------------------------------------------------------------
def item(session: Session, section: str, key: str) -> dict | None:
    found = session.get(SnapshotItem, (section, key))
    return found.data if found else None


def items(session: Session, section: str) -> dict[str, dict]:
    return {
        row.key: row.data
        for row in session.scalars(select(SnapshotItem).where(SnapshotItem.section == section))
    }


def summary(session: Session) -> dict:
    """The snapshot's summary; 503 until the scheduler has computed a first snapshot."""
    found = item(session, "summary", "current")
    if found is None:
        raise NotReady(
            "No figures have been computed yet: the first sync has not finished. Try again shortly."
        )
    return found


def require(session: Session, section: str, key: str, what: str) -> dict:
    summary(session)
    found = item(session, section, key)
    if found is None:
        raise NotFound(f"No {what}.")
    return found


def quarter_key(year: int, quarter: int) -> str:
    return str(Quarter(year, quarter))
