"""The snapshot is versioned by the feed cursor it was computed from, and never replaced by an older one."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select, update

from services.kpi import snapshot
from services.kpi.models import SnapshotItem, SyncState
from shared.catalog import default_catalog
from shared.db import Database

NOW = dt.datetime(2022, 7, 5, 2, 0, tzinfo=dt.UTC)


def stored(database: Database) -> tuple[int | None, dt.datetime | None, str | None]:
    with database.session(write=False) as session:
        state = session.get(SyncState, 1)
        summary = session.get(SnapshotItem, ("summary", "current"))
        return state.snapshot_cursor, state.snapshot_at, summary.data["computed_at"] if summary else None


def read_up_to(database: Database, cursor: int) -> None:
    """As if the feed had been read up to `cursor` (the snapshot's version)."""
    with database.transaction() as session:
        session.execute(update(SyncState).where(SyncState.id == 1).values(cursor=cursor))


def test_a_snapshot_of_an_older_cursor_never_replaces_a_newer_one(kpi_db_url):
    database, catalog = Database(kpi_db_url), default_catalog()
    read_up_to(database, 7)
    assert snapshot.recompute(database, catalog, now=NOW) == 7
    # A slower computation that read the feed only up to 5 finishes afterwards, even on a later clock.
    read_up_to(database, 5)
    assert snapshot.recompute(database, catalog, now=NOW + dt.timedelta(minutes=1)) == 7
    assert stored(database) == (7, NOW, NOW.isoformat())
    # The same cursor computed earlier is older too (days overdue move with the clock) ...
    read_up_to(database, 7)
    assert snapshot.recompute(database, catalog, now=NOW - dt.timedelta(seconds=1)) == 7
    assert stored(database) == (7, NOW, NOW.isoformat())
    # ... and later, newer.
    later = NOW + dt.timedelta(minutes=2)
    assert snapshot.recompute(database, catalog, now=later) == 7
    assert stored(database) == (7, later, later.isoformat())
    read_up_to(database, 8)
    assert snapshot.recompute(database, catalog, now=later) == 8
    database.dispose()


def test_concurrent_recomputes_take_turns_and_leave_the_newest(kpi_db_url):
    """Two schedulers replacing the snapshot at once failed with IntegrityError (issue 17)."""
    database, catalog = Database(kpi_db_url), default_catalog()
    read_up_to(database, 3)
    errors: list[BaseException] = []

    def recompute(minutes: int):
        try:
            for step in range(5):
                snapshot.recompute(database, catalog, now=NOW + dt.timedelta(minutes=minutes, seconds=step))
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=recompute, args=(minutes,)) for minutes in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    newest = NOW + dt.timedelta(minutes=3, seconds=4)
    assert stored(database) == (3, newest, newest.isoformat())
    with database.session(write=False) as session:
        sections = session.scalars(select(SnapshotItem.section)).all()
    assert sections.count("summary") == 1
    database.dispose()
