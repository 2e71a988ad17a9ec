"""Run a service's Alembic migrations programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.db import normalise_url


def alembic_config(service_dir: Path, database_url: str) -> Config:
    """An Alembic config for the migrations folder beside a service's code."""
    config = Config()
    config.set_main_option("script_location", str(service_dir / "migrations"))
    # ConfigParser interpolation would choke on '%' in passwords.
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def upgrade(service_dir: Path, database_url: str) -> None:
    """Apply every pending migration."""
    command.upgrade(alembic_config(service_dir, database_url), "head")
