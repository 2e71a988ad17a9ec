"""Alembic environment for the intake service."""

from services.intake.models import Base
from shared.migrations import run_environment

run_environment(Base.metadata)
