"""Alembic environment for the notify service."""

from services.notify.models import Base
from shared.migrations import run_environment


def include_name(name, type_, parent_names) -> bool:
    """APScheduler's job table is created by migration 0001 but not described by our models."""
    return not (type_ == "table" and name == "apscheduler_jobs")


run_environment(Base.metadata, include_name=include_name)
