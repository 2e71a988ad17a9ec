"""The outbox: rows written once per dedup key, claimed by senders under a lease.

Every state change after a claim is one UPDATE fenced by the claim's token, so a
sender whose lease expired (and whose rows another sender claimed) changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.notify.messages import Rendered
from services.notify.models import CANCELLED, DRY_RUN, FAILED, PENDING, SENDING, SENT, Notification
from shared.db import Database
from shared.errors import Conflict, NotFound

N = Notification


def insert_or_ignore(session: Session, values: dict) -> int | None:
    """Insert a row unless its dedup key exists (the unique constraint decides); its id, or None."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(N).values(**values).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(N.id)
    )
    return session.execute(statement).scalar_one_or_none()


def supersede_pending(session: Session, new: int, bureau: str, year: int, quarter: int, key: str, now) -> int:
    """An overdue notice cancels the report's pending reminder and earlier pending overdue notices."""
    result = session.execute(
        update(N)
        .where(
            N.bureau == bureau,
            N.year == year,
            N.quarter == quarter,
            N.rule.in_(("reminder", "overdue")),
            N.status == PENDING,
            N.id != new,
        )
        .values(status=CANCELLED, status_reason=f"superseded by {key}", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def backoff(attempts: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with equal jitter: half the delay fixed, half random."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay / 2 + rand() * delay / 2


@dataclass
class Claim:
    """Rows one sender holds until `lease_until`; `token` proves it still does."""

    token: str
    rows: list[Notification]


def claim(database: Database, now: dt.datetime, limit: int, lease_seconds: float) -> Claim:
    """Take due rows: pending ones whose time has come and `sending` ones whose lease expired.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent senders take disjoint rows.
    SQLite: the transaction begins IMMEDIATE, so claims are serialised.
    """
    token = uuid.uuid4().hex
    with database.transaction() as session:
        due = or_(
            and_(N.status == PENDING, N.next_attempt_at <= now),
            and_(N.status == SENDING, N.lease_until < now),
        )
        ids = session.scalars(
            select(N.id)
            .where(due)
            .order_by(N.next_attempt_at, N.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not ids:
            return Claim(token, [])
        session.execute(
            update(N)
            .where(N.id.in_(ids))
            .values(
                status=SENDING,
                claim_token=token,
                lease_until=now + dt.timedelta(seconds=lease_seconds),
                attempts=N.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        rows = session.scalars(select(N).where(N.id.in_(ids)).order_by(N.id)).all()
    return Claim(token, list(rows))


def _fenced(database: Database, row: Notification, token: str, **values) -> bool:
    """One UPDATE of a claimed row, applied only while the claim is still ours."""
    with database.transaction() as session:
        result = session.execute(
            update(N)
            .where(N.id == row.id, N.claim_token == token, N.status == SENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return result.rowcount == 1


def hold(database: Database, row: Notification, token: str, now, lease_seconds: float) -> bool:
    """Renew the lease of a row about to be sent; False if another sender took it over."""
    return _fenced(database, row, token, lease_until=now + dt.timedelta(seconds=lease_seconds))


def _release(database: Database, row: Notification, token: str, now, **values) -> bool:
    """Let go of a claimed row with its new state; a sender whose lease was taken over changes nothing."""
    return _fenced(database, row, token, lease_until=None, claim_token=None, updated_at=now, **values)


def mark_sent(database: Database, row: Notification, token: str, now, note: str | None = None) -> bool:
    """The one statement between the server's acceptance and the row saying so."""
    extra = {"last_error": note} if note else {}
    return _release(database, row, token, now, status=SENT, sent_at=now, deliveries=N.deliveries + 1, **extra)


def failure(stage: str, error: Exception) -> str:
    """The `last_error` of a message that could not be prepared: the stage and the error."""
    return f"{stage} failed: {type(error).__name__}: {error}"


def mark_failed(database: Database, row: Notification, token: str, now, error: str) -> bool:
    return _release(database, row, token, now, status=FAILED, last_error=error, failures=N.failures + 1)


def mark_cancelled(database: Database, row: Notification, token: str, now, reason: str) -> bool:
    return _release(database, row, token, now, status=CANCELLED, status_reason=reason)


def retry_later(
    database: Database, row: Notification, token: str, now, error: str, delay: float, max_attempts: int
) -> bool:
    """Back to pending after `delay`, or failed once `max_attempts` claims have not delivered it."""
    if row.attempts >= max_attempts:
        return mark_failed(database, row, token, now, f"gave up after {row.attempts} attempts: {error}")
    return _release(
        database,
        row,
        token,
        now,
        status=PENDING,
        last_error=error,
        next_attempt_at=now + dt.timedelta(seconds=delay),
    )


# -- what coordinators may do ------------------------------------------------------
def get(session: Session, notification_id: int, lock: bool = False) -> Notification:
    row = session.get(N, notification_id, with_for_update=lock or None)
    if row is None:
        raise NotFound(f"No notification {notification_id}.")
    return row


def resend(
    session: Session, notification_id: int, now, who: str, render: Callable[[Notification], Rendered]
) -> Notification:
    """Queue a sent, failed, cancelled or dry-run notification again (its reasons are re-checked).
    One whose message could not be rendered when it was written is rendered now (`render`)."""
    row = get(session, notification_id, lock=True)
    if row.status not in (SENT, FAILED, CANCELLED, DRY_RUN):
        raise Conflict(f"Notification {notification_id} is {row.status}: it is already on its way.")
    if not row.subject:
        try:
            rendered = render(row)
        except Exception as error:  # the template and the facts still disagree
            raise Conflict(
                f"Notification {notification_id} cannot be sent: {failure('rendering', error)}"
            ) from None
        row.subject, row.body_text, row.body_html = rendered.subject, rendered.text, rendered.html
    row.status = PENDING
    row.status_reason = f"resend asked by {who}"
    row.next_attempt_at = now
    row.attempts = 0
    row.lease_until = None
    row.claim_token = None
    row.updated_at = now
    return row


def cancel(session: Session, notification_id: int, now, who: str) -> Notification:
    """Cancel a notification that has not been sent yet."""
    row = get(session, notification_id, lock=True)
    if row.status not in (PENDING, DRY_RUN):
        raise Conflict(
            f"Notification {notification_id} is {row.status}: only a pending one can be cancelled."
        )
    row.status = CANCELLED
    row.status_reason = f"cancelled by {who}"
    row.updated_at = now
    return row
