"""Alembic environment for the notify service."""

from alembic import context

from services.notify.models import Base
from shared.db import make_engine

config = context.config


def include_name(name, type_, parent_names) -> bool:
    """APScheduler's job table is created by migration 0001 but not described by our models."""
    return not (type_ == "table" and name == "apscheduler_jobs")


def run_migrations() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_name=include_name,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
