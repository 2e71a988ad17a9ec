"""Alembic environment for the KPI service."""

from alembic import context

from services.kpi.models import Base
from shared.db import make_engine

config = context.config


def run_migrations() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
