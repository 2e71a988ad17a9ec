"""Run a service's Alembic migrations programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from shared.db import make_engine, normalise_url


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


def run_environment(metadata: MetaData, include_name=None) -> None:
    """The body of every service's migrations/env.py: migrate online with our engine settings."""
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    # SQLite: take the write lock at once, as every writer here does.
    engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
