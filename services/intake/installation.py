"""The deployment's installation: the first quarter it tracks (shared/rules.py, first_tracked_quarter).

A new deployment is not asked for the years of reports before it existed; one that already holds
data when this is first recorded (an upgrade, or the demo data) keeps the plan's whole history.
kpi learns the first quarter through the change feed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import feed
from services.intake.models import ActivityTarget, CaseRecord, Installation, OutcomeCount, Report
from shared import rules
from shared.catalog import Catalog
from shared.changes import InstallationChange
from shared.periods import Quarter


def first_quarter(session: Session, catalog: Catalog) -> Quarter:
    """The first quarter this deployment tracks: the plan's own first quarter until one is recorded."""
    recorded = session.scalar(select(Installation.first_quarter).where(Installation.id == 1))
    return Quarter.parse(recorded) if recorded else catalog.reporting.first_quarter


def holds_data(session: Session) -> bool:
    return any(
        session.scalar(select(model.id).limit(1)) is not None
        for model in (ActivityTarget, Report, OutcomeCount, CaseRecord)
    )


def record_if_new(session: Session, catalog: Catalog, now: dt.datetime) -> Installation:
    """Record the installation once: today, or no date (the whole history) if data is already here."""
    found = session.get(Installation, 1)
    if found is not None:
        return found
    return set_installed_on(session, catalog, None if holds_data(session) else rules.taipei_today(now), now)


def set_installed_on(session: Session, catalog: Catalog, installed_on: dt.date | None, now) -> Installation:
    """Record (or replace) the installation date and tell kpi through the change feed."""
    first = rules.first_tracked_quarter(catalog.reporting, installed_on)
    row = session.get(Installation, 1) or Installation(id=1)
    row.installed_on, row.first_quarter, row.recorded_at = installed_on, str(first), now
    session.add(row)
    session.flush()
    feed.record(session, InstallationChange(row.installed_on, row.first_quarter), now)
    return row
