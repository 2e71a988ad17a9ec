"""The notify service's tables: the outbox, silences, the record of evaluations and the feed's cursor."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime

RULES = ("reminder", "overdue", "returned", "reopened", "accepted", "behind", "committee", "locked")
# The word a person reads for each rule: the tag its e-mails' subjects start with (【提醒】…, the
# templates) and the `rule_name` label of notify's metrics, which the dashboard and alerts show.
RULE_NAMES = {
    "reminder": "提醒",
    "overdue": "逾期",
    "returned": "退回",
    "reopened": "重新開放",
    "accepted": "已核定",
    "behind": "進度落後",
    "committee": "指標警示",
    "locked": "待重新開放",
}
BUREAU_RULES = ("reminder", "overdue", "returned", "reopened", "accepted", "behind")

# pending -> sending -> sent | failed | cancelled; pending -> cancelled; dry_run is never sent.
PENDING, SENDING, SENT, FAILED, CANCELLED, DRY_RUN = (
    "pending",
    "sending",
    "sent",
    "failed",
    "cancelled",
    "dry_run",
)
STATUSES = (PENDING, SENDING, SENT, FAILED, CANCELLED, DRY_RUN)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UtcDateTime(), dict: JSON, list: JSON}


class Notification(Base):
    """One e-mail in the outbox; its dedup key makes it exist at most once, ever."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_notifications_dedup_key"),
        # The sender's claim query: due rows in order.
        Index("ix_notifications_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_notifications_report", "bureau", "year", "quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # rule:subject:yearQquarter:stage, e.g. overdue:police:2022Q2:3
    dedup_key: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(20))
    bureau: Mapped[str | None] = mapped_column(String(40))
    indicator: Mapped[str | None] = mapped_column(String(60))
    year: Mapped[int]
    quarter: Mapped[int]
    stage: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[list]
    subject: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict]  # what the rule saw, kept for the API and the re-check
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime]
    # A claimed row belongs to one sender until its lease ends; the token fences late writers.
    lease_until: Mapped[dt.datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(64))
    deliveries: Mapped[int] = mapped_column(default=0)  # times a server accepted it
    failures: Mapped[int] = mapped_column(default=0)  # times it was marked failed
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


class Silence(Base):
    """No notification of `rule` for `bureau` through the end of `until` (Asia/Taipei)."""

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_rule_bureau", "rule", "bureau"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(20))
    bureau: Mapped[str] = mapped_column(String(40))
    until: Mapped[dt.date] = mapped_column(Date)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Evaluation(Base):
    """One run of the rules, scheduled or asked for."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | api | cli
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str] = mapped_column(String(20))  # running | ok | error
    created: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict]
    error: Mapped[str | None] = mapped_column(Text)


class FeedCursor(Base):
    """How far notify has followed intake's change feed: one row, moved with what a page wrote."""

    __tablename__ = "feed_cursor"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    position: Mapped[int]
    updated_at: Mapped[dt.datetime]
