"""Real databases for tests: a migrated SQLite template, and a private PostgreSQL database per run."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from shared import migrations
from shared.db import normalise_url


@dataclass
class SqliteTemplate:
    path: Path

    def copy_to(self, target: Path) -> str:
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"


def sqlite_template(folder: Path, service_dir: Path) -> SqliteTemplate:
    """Migrate once; each test copies the file (much faster than migrating per test)."""
    path = folder / "template.db"
    migrations.upgrade(service_dir, f"sqlite:///{path}")
    return SqliteTemplate(path)


@dataclass
class PostgresDatabase:
    url: str

    def truncate_all(self) -> None:
        engine = create_engine(normalise_url(self.url))
        with engine.begin() as connection:
            tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
            if tables:
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()


def _server_conninfo(url: str) -> str:
    parsed = make_url(normalise_url(url))
    return (
        f"host={parsed.host or '127.0.0.1'} port={parsed.port or 5432} user={parsed.username or 'postgres'} dbname=postgres"
        + (f" password={parsed.password}" if parsed.password else "")
    )


@contextlib.contextmanager
def postgres_database(server_url: str, service_dir: Path | None = None):
    """Create a uniquely named database on the server, migrate it, and drop it afterwards."""
    name = f"dgbv_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_server_conninfo(server_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(normalise_url(server_url)).set(database=name).render_as_string(hide_password=False)
    try:
        if service_dir is not None:
            migrations.upgrade(service_dir, url)
        yield PostgresDatabase(url)
    finally:
        with psycopg.connect(_server_conninfo(server_url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_database_url(service: str, backend: str, request, tmp_path: Path) -> str:
    """A migrated, empty database of a service on the backend under test.

    Relies on the session fixtures `_<service>_sqlite_template` and `_<service>_postgres`.
    """
    if backend == "sqlite":
        return request.getfixturevalue(f"_{service}_sqlite_template").copy_to(tmp_path / f"{service}.db")
    database = request.getfixturevalue(f"_{service}_postgres")
    database.truncate_all()
    return database.url


@contextlib.contextmanager
def inserts_refused(url: str, table: str):
    """Make every insert into `table` fail inside the database while the block runs, as a broken
    schema would. On PostgreSQL the error's DETAIL quotes the row, as PostgreSQL's own constraint
    errors do ("Failing row contains ...")."""
    engine = create_engine(normalise_url(url))
    postgres = engine.dialect.name == "postgresql"
    create = (
        [
            "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'inserts are refused here' USING DETAIL = 'Failing row contains ' || NEW::text; "
            "END $$",
            f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_insert()",
        ]
        if postgres
        else [
            f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'inserts are refused here'); END"
        ]
    )
    drop = (
        [f"DROP TRIGGER refuse_insert ON {table}", "DROP FUNCTION refuse_insert()"]
        if postgres
        else ["DROP TRIGGER refuse_insert"]
    )
    with engine.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))
        engine.dispose()
