"""The KPI service's tables: a read model of intake's change feed, the cursor, and the snapshot."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UtcDateTime
from shared.demo_marks import DEMO_REF_PREFIX

# A literal, not a parameter: only then can the database use the partial index below.
DEMO_REFS = text(f"key LIKE '{DEMO_REF_PREFIX}%'")


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UtcDateTime(), dict: JSON, list: JSON}


class SyncState(Base):
    """The one row saying how far the feed has been read and how the last attempts went."""

    __tablename__ = "sync_state"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    last_sync_at: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]
    source_up: Mapped[bool | None] = mapped_column(Boolean)
    last_error: Mapped[str | None] = mapped_column(Text)
    snapshot_at: Mapped[dt.datetime | None]
    snapshot_cursor: Mapped[int | None] = mapped_column(BigInteger)


class ReportRow(Base):
    """The latest state of a bureau's quarterly report, as the feed last showed it."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # bureau/year/quarter
    bureau: Mapped[str] = mapped_column(String(40))
    year: Mapped[int]
    quarter: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[dt.datetime | None]
    # When a coordinator last reopened the quarter for the bureau: it stays open lock_days more.
    reopened_at: Mapped[dt.datetime | None]
    # {action_id: {metric_id: int | None}}
    values: Mapped[dict]
    # {action_id: {metric_id: {"male", "female", "other"}}} for the metrics counted by sex
    by_sex: Mapped[dict | None]
    revision: Mapped[int]


class TargetRow(Base):
    """The planned value of one action metric for a year."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # year/action/metric
    year: Mapped[int]
    action: Mapped[str] = mapped_column(String(40))
    metric: Mapped[str] = mapped_column(String(40))
    annual: Mapped[int]
    quarterly: Mapped[list | None]


class OutcomeRow(Base):
    """The quarterly count of an outcome indicator."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # indicator/year/quarter
    indicator: Mapped[str] = mapped_column(String(60))
    year: Mapped[int]
    quarter: Mapped[int]
    count: Mapped[int]


class CaseRow(Base):
    """An anonymous case record, with its year kept apart for grouping."""

    __tablename__ = "cases"
    # Whether any record is demo data, found without reading every ref (snapshot.recompute).
    __table_args__ = (Index("ix_cases_demo", "id", sqlite_where=DEMO_REFS, postgresql_where=DEMO_REFS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # the record's ref
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer, index=True)
    category: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(10))
    sex: Mapped[str] = mapped_column(String(10))
    age_band: Mapped[str] = mapped_column(String(10))
    cause: Mapped[str | None] = mapped_column(String(40))
    relationship: Mapped[str | None] = mapped_column(String(40))
    district: Mapped[str | None] = mapped_column(String(40))
    types: Mapped[list]


class CaseCellRow(Base):
    """How many case records share these attributes (cells.py keeps it up to date)."""

    __tablename__ = "case_cells"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)  # the attributes, as JSON
    year: Mapped[int]
    category: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(10))
    sex: Mapped[str] = mapped_column(String(10))
    age_band: Mapped[str] = mapped_column(String(10))
    cause: Mapped[str | None] = mapped_column(String(40))
    relationship: Mapped[str | None] = mapped_column(String(40))
    count: Mapped[int]


class TypeCellRow(Base):
    """How many case records of these attributes fall under one type."""

    __tablename__ = "type_cells"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # the attributes, as JSON
    year: Mapped[int]
    category: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(10))
    sex: Mapped[str] = mapped_column(String(10))
    type: Mapped[int]
    count: Mapped[int]


class SnapshotItem(Base):
    """One part of the computed snapshot (a section and a key), replaced whole at each recompute."""

    __tablename__ = "snapshot_items"

    section: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    data: Mapped[dict]


class InstallationRow(Base):
    """When intake's deployment was installed, and so the first quarter it tracks (one row)."""

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    installed_on: Mapped[dt.date | None] = mapped_column(Date)
    first_quarter: Mapped[str] = mapped_column(String(7))


# What the feed's changes are applied to (sync.py), and so what a rebuild forgets.
READ_MODEL = (ReportRow, TargetRow, OutcomeRow, CaseRow, InstallationRow, CaseCellRow, TypeCellRow)
