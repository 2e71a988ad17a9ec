"""The change feed: every created or changed record, in commit order, with a growing cursor.

A change gets its position when it is written, from the largest position so far, by one writer
at a time:

- PostgreSQL: the writer first takes a transaction-level advisory lock, which it holds until it
  commits or rolls back. The next writer waits for that lock, so it reads the largest position
  only once the previous writer's rows are committed (PostgreSQL makes a commit visible before it
  releases the transaction's locks). Positions are therefore handed out in commit order, and no
  reader can see position p while a smaller one is still uncommitted: a consumer that has read up
  to p never later finds a new row below p. A rolled-back writer leaves no gap either, since the
  next writer reads the largest *committed* position.
- SQLite: every writing transaction begins IMMEDIATE (shared/db.py), holding the database's one
  write lock from its start to its commit, so the same holds without an extra lock.

Changes recorded during a transaction are written just before it commits (`record` only collects
them), so the lock is held for a few statements and the commit, and never while the transaction
takes any other lock. Reading the feed writes nothing.

Readers may wait for the next change (`wait_for_changes`): a commit in this process wakes them
at once; on PostgreSQL a commit in any process wakes them through LISTEN/NOTIFY (the NOTIFY is
sent by PostgreSQL at the writer's commit, never for a rolled-back change); on SQLite, other
processes' commits are found by a short poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session

from services.intake.models import Change
from shared import changes
from shared.db import Database

log = logging.getLogger(__name__)

# Any constant works; it names the lock that serialises position assignment on PostgreSQL.
_SEQUENCER_LOCK = 0x44474256
CHANNEL = "dgbv_changes"
# How often a waiting reader looks at the feed when nothing wakes it: the only way to learn of
# another process's commit on SQLite, and a safety net should a notification connection fail.
SQLITE_POLL_SECONDS = 0.2
POSTGRES_POLL_SECONDS = 5.0
_PENDING, _WRITTEN = "feed_pending", "feed_written"


def record(session: Session, payload, now) -> None:
    """Add one change to the feed, in the caller's transaction: a payload of the feed's contract."""
    record_many(session, [payload], now)


def record_many(session: Session, payloads: list, now) -> None:
    """Add changes to the feed, in the caller's transaction and in this order. They are written
    (numbered) when the transaction commits, so the sequencer is held only for that moment and
    never while the transaction still takes other locks (two writers could deadlock)."""
    session.info.setdefault(_PENDING, []).extend((payload, now) for payload in payloads)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEQUENCER_LOCK})
        # Sent by PostgreSQL when (and only if) this transaction commits; several are merged.
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    first = last_position(session) + 1
    session.execute(
        insert(Change),
        [
            {
                "position": first + index,
                "entity": payload.entity,
                "key": payload.key,
                "data": changes.write(payload),
                "recorded_at": now,
            }
            for index, (payload, now) in enumerate(pending)
        ],
    )
    session.info[_WRITTEN] = True


def read(session: Session, after: int, limit: int) -> list[Change]:
    """The changes after a cursor, oldest first."""
    return list(
        session.scalars(select(Change).where(Change.position > after).order_by(Change.position).limit(limit))
    )


def last_position(session: Session) -> int:
    """The newest position given so far (0 for an empty feed)."""
    return session.scalar(select(func.max(Change.position))) or 0


# -- waking readers ----------------------------------------------------------------------------
class _Commits:
    """Counts this process's commits that wrote to the feed; readers wait for the count to move."""

    def __init__(self):
        self._condition = threading.Condition()
        self.count = 0

    def committed(self) -> None:
        with self._condition:
            self.count += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self.count != seen, timeout)


_commits = _Commits()


@event.listens_for(Session, "after_commit")
def _wake_readers(session: Session) -> None:
    if session.info.pop(_WRITTEN, False):
        _commits.committed()


@event.listens_for(Session, "after_rollback")
def _forget_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_PENDING, None)


def wait_for_changes(database: Database, read_page: Callable[[], list], timeout: float) -> list:
    """Read a page with `read_page` (which must begin a new transaction each time); while it is
    empty, wait up to `timeout` seconds for a commit to the feed and read again."""
    deadline = time.monotonic() + timeout
    seen = _commits.count
    page = read_page()
    if page or timeout <= 0:
        return page
    listener = _listen(database)
    try:
        page = read_page()  # again, now that a commit since the first read cannot go unnoticed
        while not page:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if listener is not None:
                listener = _await_notification(listener, min(POSTGRES_POLL_SECONDS, remaining))
            else:
                _commits.wait(seen, min(SQLITE_POLL_SECONDS, remaining))
            seen = _commits.count
            page = read_page()
        return page
    finally:
        if listener is not None:
            listener.close()


def _listen(database: Database) -> psycopg.Connection | None:
    """A connection of its own listening to the feed's channel (PostgreSQL), or None."""
    url = database.engine.url
    if url.get_backend_name() != "postgresql":
        return None
    try:
        connection = psycopg.connect(
            url.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
            connect_timeout=5,
        )
        connection.execute(f"LISTEN {CHANNEL}")
        return connection
    except psycopg.Error as error:
        log.warning("cannot listen for feed commits, polling instead: %s", type(error).__name__)
        return None


def _await_notification(listener: psycopg.Connection, timeout: float) -> psycopg.Connection | None:
    try:
        for _ in listener.notifies(timeout=timeout, stop_after=1):
            pass
        return listener
    except psycopg.Error as error:
        log.warning("lost the feed's notification connection, polling instead: %s", type(error).__name__)
        listener.close()
        return None
