"""The change feed: every created or changed record, in commit order, with a growing cursor."""

from __future__ import annotations

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from services.intake.models import Change
from shared import changes
from shared.db import Database

# Any constant works; it names the lock that serialises position assignment on PostgreSQL.
_SEQUENCER_LOCK = 0x44474256


def record(session: Session, payload, now) -> None:
    """Add one change to the feed, in the caller's transaction: a payload of the feed's contract."""
    session.add(Change(entity=payload.entity, key=payload.key, data=changes.write(payload), recorded_at=now))


def record_many(session: Session, payloads: list, now) -> None:
    """Add many changes with one executemany."""
    if payloads:
        session.execute(
            insert(Change),
            [
                {"entity": p.entity, "key": p.key, "data": changes.write(p), "recorded_at": now}
                for p in payloads
            ],
        )


def assign_positions(database: Database) -> None:
    """Give every committed change without a position the next positions, in id order.

    Ids are taken when transactions start writing, but transactions may commit in
    another order. Positions are handed out only to rows already committed, by one
    sequencer at a time, so a consumer that has read up to position p never later
    finds a new row below p.
    """
    with database.transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEQUENCER_LOCK})
        session.execute(
            text(
                """
                UPDATE changes SET position = numbered.base + numbered.n
                FROM (
                    SELECT c.id,
                           ROW_NUMBER() OVER (ORDER BY c.id) AS n,
                           (SELECT COALESCE(MAX(position), 0) FROM changes) AS base
                    FROM changes c WHERE c.position IS NULL
                ) AS numbered
                WHERE changes.id = numbered.id
                """
            )
        )


def read(session: Session, after: int, limit: int) -> list[Change]:
    """The changes after a cursor, oldest first."""
    return list(
        session.scalars(select(Change).where(Change.position > after).order_by(Change.position).limit(limit))
    )


def last_position(session: Session) -> int:
    """The newest position given so far (0 for an empty feed)."""
    return session.scalar(select(func.max(Change.position))) or 0
