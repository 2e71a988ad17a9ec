"""Follow intake's change feed into the read model.

Each page is applied in one transaction together with the cursor it reaches, so a restart
resumes exactly where the last committed page ended, and a page is never applied twice.
Later changes of the same key supersede earlier ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from services.kpi import cells
from services.kpi.intake_client import IntakeFeed, Page, SourceUnavailable
from services.kpi.models import (
    READ_MODEL,
    CaseRow,
    InstallationRow,
    OutcomeRow,
    ReportRow,
    SnapshotItem,
    SyncState,
    TargetRow,
)
from shared import changes
from shared.db import Database, describe_error, log_failure

log = logging.getLogger(__name__)
_CHUNK = 500


@dataclass(frozen=True)
class SyncResult:
    pages: int
    changes: int
    cursor: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _report(change: changes.ReportChange) -> dict:
    return {
        "bureau": change.bureau,
        "year": change.year,
        "quarter": change.quarter,
        "status": change.status,
        "submitted_at": change.submitted_at,
        "reopened_at": change.reopened_at,
        "values": {entry.action: entry.values for entry in change.actions},
        "by_sex": {
            entry.action: {metric: dataclasses.asdict(parts) for metric, parts in entry.by_sex.items()}
            for entry in change.actions
            if entry.by_sex
        },
        "revision": change.revision,
    }


def _target(change: changes.TargetChange) -> dict:
    quarterly = list(change.quarterly) if change.quarterly is not None else None
    return {
        "year": change.year,
        "action": change.action,
        "metric": change.metric,
        "annual": change.annual,
        "quarterly": quarterly,
    }


def _outcome(change: changes.OutcomeChange) -> dict:
    return {
        "indicator": change.indicator,
        "year": change.year,
        "quarter": change.quarter,
        "count": change.count,
    }


def _case(change: changes.CaseChange) -> dict:
    return {
        "occurred_on": change.date,
        "year": change.date.year,
        "category": change.category,
        "role": change.role,
        "sex": change.sex,
        "age_band": change.age_band,
        "cause": change.cause,
        "relationship": change.relationship,
        "district": change.district,
        "types": list(change.types),
    }


def _installation(change: changes.InstallationChange) -> dict:
    return {"installed_on": change.installed_on, "first_quarter": change.first_quarter}


# kind of change (shared/changes.py) -> (read model table, its columns from the typed payload)
ENTITIES: dict[str, tuple[type, Callable]] = {
    "report": (ReportRow, _report),
    "target": (TargetRow, _target),
    "outcome": (OutcomeRow, _outcome),
    "case": (CaseRow, _case),
    "installation": (InstallationRow, _installation),
}


def apply_changes(session: Session, page_changes: list[dict]) -> None:
    """Upsert the latest state of every key the changes mention; a payload that breaks the feed's
    contract (shared/changes.py) fails the whole page."""
    latest: dict[str, dict[str, dict]] = {}
    for change in page_changes:
        if change["entity"] not in ENTITIES:
            log.warning("ignoring a change of unknown entity %r", change["entity"])
            continue
        latest.setdefault(change["entity"], {})[change["key"]] = change["data"]
    for entity, items in latest.items():
        model, columns_of = ENTITIES[entity]
        counted = model is CaseRow  # case records also move their cells' counts (cells.py)
        delta = cells.Delta()

        keys = list(items)
        existing: dict[str, int] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            stored = select(model.key, model.id, *(cells.RECORD_COLUMNS if counted else ()))
            for row in session.execute(stored.where(model.key.in_(chunk))):
                existing[row.key] = row.id
                if counted:
                    delta.remove(row)
        # Core statements, one executemany each, not one ORM object per row: a page of 500
        # records is written several times faster (bench/README.md, benchmark 4).
        inserts, updates = [], []
        for key, data in items.items():
            columns = columns_of(changes.read(entity, data))
            if counted:
                delta.add(SimpleNamespace(**columns))
            if key in existing:
                updates.append({"row_id": existing[key], **columns})
            else:
                inserts.append({"key": key, **columns})
        table = model.__table__
        if inserts:
            session.execute(insert(table), inserts)
        if updates:
            names = [name for name in updates[0] if name != "row_id"]
            statement = (
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values({name: bindparam(name) for name in names})
            )
            session.execute(statement, updates)
        if counted:
            cells.apply(session, delta)


def _locked_state(session: Session) -> SyncState:
    return session.scalar(select(SyncState).where(SyncState.id == 1).with_for_update())


def current_cursor(database: Database) -> int:
    with database.session(write=False) as session:
        return session.scalar(select(SyncState.cursor).where(SyncState.id == 1))


def apply_page(database: Database, after: int, page: Page) -> bool:
    """Apply a page read after `after` and move the cursor, in one transaction.

    Returns False, applying nothing, if another process has moved the cursor meanwhile.
    """
    with database.transaction() as session:
        state = _locked_state(session)
        if state.cursor != after:
            return False
        apply_changes(session, page.changes)
        state.cursor = page.next_cursor
    return True


def _record_attempt(database: Database, at: dt.datetime, error: str | None, source_up: bool) -> None:
    with database.transaction() as session:
        state = _locked_state(session)
        state.last_sync_at = at
        state.source_up = source_up
        state.last_error = error
        if error is None:
            state.last_success_at = at


def sync(
    database: Database,
    feed: IntakeFeed,
    now: dt.datetime,
    max_pages: int | None = None,
    first_page: tuple[int, Page] | None = None,
) -> SyncResult:
    """Read the feed from the stored cursor until it has no more (or `max_pages` pages).
    `first_page` is a page already read (after which cursor, and the page): it is applied if the
    cursor is still there, instead of being read again.

    Failures are recorded in the sync state, not raised: intake being down is not an error here.
    """
    pages = changes = 0
    try:
        while max_pages is None or pages < max_pages:
            after = current_cursor(database)
            already_read = first_page is not None and first_page[0] == after
            page = first_page[1] if already_read else feed.page(after)
            first_page = None
            if page.changes and not apply_page(database, after, page):
                continue  # another process applied this page: read on from its cursor
            pages += 1
            changes += len(page.changes)
            if not page.has_more:
                break
    except SourceUnavailable as error:
        log.warning("sync failed: %s", error)
        _record_attempt(database, now, str(error), source_up=False)
        return SyncResult(pages, changes, current_cursor(database), str(error))
    except Exception as error:  # noqa: BLE001 - a change kpi cannot apply; intake itself answered
        log_failure(log, "sync failed while applying a page", error)
        message = f"a page of the change feed could not be applied ({describe_error(error)})"
        _record_attempt(database, now, message, source_up=True)
        return SyncResult(pages, changes, current_cursor(database), message)
    _record_attempt(database, now, None, source_up=True)
    result = SyncResult(pages, changes, current_cursor(database))
    if changes:
        log.info("synced %d changes; cursor %d", changes, result.cursor)
    return result


def reset(database: Database) -> None:
    """Forget the read model, the snapshot and the cursor: the next sync starts from zero."""
    with database.transaction() as session:
        state = _locked_state(session)
        for model in (*READ_MODEL, SnapshotItem):
            session.execute(delete(model))
        state.cursor = 0
        state.snapshot_at = state.snapshot_cursor = None
