"""The intake service's tables: the system of record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UtcDateTime

USERNAME_LENGTH = 60  # users.username and sign_in_failures.username


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UtcDateTime(), dict: JSON, list: JSON}


class ApiToken(Base):
    """A bearer token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    bureau: Mapped[str | None] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[dt.datetime | None]
    # The environment variable that hands this token over (INTAKE_ADMIN_TOKEN, ...), if any: a new
    # value of the variable retires the token.
    origin: Mapped[str | None] = mapped_column(String(40), index=True)


class BureauContact(Base):
    """An e-mail address that receives a bureau's reminders."""

    __tablename__ = "bureau_contacts"
    __table_args__ = (UniqueConstraint("bureau", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau: Mapped[str] = mapped_column(String(40), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(100))


class Report(Base):
    """A bureau's quarterly activity report: one per (bureau, year, quarter)."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("bureau", "year", "quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau: Mapped[str] = mapped_column(String(40))
    year: Mapped[int]
    quarter: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    narrative: Mapped[str] = mapped_column(Text, default="")
    # {action_id: {"values": {metric_id: int|None}, "note", "delay_reason", "countermeasure"}}
    actions: Mapped[dict]
    revision: Mapped[int]
    submitted_at: Mapped[dt.datetime | None]
    days_late: Mapped[int | None]
    reopened_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    revisions: Mapped[list[ReportRevision]] = relationship(
        back_populates="report", order_by="ReportRevision.number"
    )


class ReportRevision(Base):
    """An immutable record of one save or transition of a report."""

    __tablename__ = "report_revisions"
    __table_args__ = (UniqueConstraint("report_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    number: Mapped[int]
    event: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[list]
    snapshot: Mapped[dict]

    report: Mapped[Report] = relationship(back_populates="revisions")


class ActivityTarget(Base):
    """The planned value of one action metric for a year, optionally split by quarter."""

    __tablename__ = "activity_targets"
    __table_args__ = (UniqueConstraint("year", "action", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    action: Mapped[str] = mapped_column(String(40))
    metric: Mapped[str] = mapped_column(String(40))
    annual: Mapped[int]
    quarterly: Mapped[list | None]
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class OutcomeCount(Base):
    """The quarterly count of an outcome indicator."""

    __tablename__ = "outcome_counts"
    __table_args__ = (UniqueConstraint("indicator", "year", "quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator: Mapped[str] = mapped_column(String(60))
    year: Mapped[int]
    quarter: Mapped[int]
    count: Mapped[int]
    revision: Mapped[int]
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(100))

    revisions: Mapped[list[OutcomeRevision]] = relationship(order_by="OutcomeRevision.number")


class OutcomeRevision(Base):
    """An immutable record of one change to an outcome count."""

    __tablename__ = "outcome_revisions"
    __table_args__ = (UniqueConstraint("outcome_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcome_counts.id"), index=True)
    number: Mapped[int]
    count: Mapped[int]
    previous: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime]


class CaseRecord(Base):
    """An anonymous case record: no name, id number, contact or free text, by design."""

    __tablename__ = "case_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    occurred_on: Mapped[dt.date] = mapped_column(Date, index=True)
    category: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(10))
    sex: Mapped[str] = mapped_column(String(10))
    age_band: Mapped[str] = mapped_column(String(10))
    cause: Mapped[str | None] = mapped_column(String(40))
    relationship: Mapped[str | None] = mapped_column(String(40))
    district: Mapped[str | None] = mapped_column(String(40))
    types: Mapped[list]
    updated_at: Mapped[dt.datetime]


class Change(Base):
    """One entry of the change feed, numbered in commit order when it is written (feed.py)."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, unique=True)
    entity: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(120))
    data: Mapped[dict]
    recorded_at: Mapped[dt.datetime]


class IdempotentRequest(Base):
    """The stored answer to a POST made with an Idempotency-Key, kept for IDEMPOTENCY_HOURS.

    Never a secret: an answer that holds one (a minted token) is kept as a problem saying so.
    """

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)


class User(Base):
    """A person who signs in to the web pages; only an argon2 hash of the password is kept."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    bureau: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    last_sign_in_at: Mapped[dt.datetime | None]


class SignInFailure(Base):
    """Recent failed sign-ins for one user name from one client address, kept in the database so
    every worker slows them down. Per address, so that nobody elsewhere can lock a user out."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (UniqueConstraint("username", "client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH))
    client: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int]
    last_failure_at: Mapped[dt.datetime] = mapped_column(index=True)
    blocked_until: Mapped[dt.datetime | None]


class RateBucket(Base):
    """A rate shared by every worker (a token bucket kept as one moment, GCRA): a client address's
    failed sign-ins, or the password verifications of the whole service.

    `full_at` is when the bucket will have refilled completely; each use moves it one interval on.
    """

    __tablename__ = "rate_buckets"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    full_at: Mapped[dt.datetime] = mapped_column(index=True)


class UserSession(Base):
    """A signed-in session of the pages: the cookie carries its secret, the table only a digest.

    Signing out deletes it; deactivating a user or changing the password deletes all of theirs.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class Installation(Base):
    """When this deployment was installed: it tracks reports from its first full quarter on.

    One row, written by the first `migrate`; `installed_on` is null for a deployment that holds the
    plan's whole history (it already had data then, or it holds the demo data).
    """

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    installed_on: Mapped[dt.date | None] = mapped_column(Date)
    first_quarter: Mapped[str] = mapped_column(String(7))
    recorded_at: Mapped[dt.datetime]
