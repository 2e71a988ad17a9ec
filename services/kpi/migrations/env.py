"""Alembic environment for the KPI service."""

from services.kpi.models import Base
from shared.migrations import run_environment

run_environment(Base.metadata)
