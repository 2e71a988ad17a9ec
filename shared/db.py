"""Database engines and the per-request unit of work shared by every service.

A request's changes are committed in one place, after the view has produced a
successful response, so a rejected request never leaves anything half-written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, current_app, g, request
from sqlalchemy import DateTime, Engine, TypeDecorator, create_engine, delete, event, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and explicit BEGIN modes.

    No engine puts a statement's parameters in its errors (`hide_parameters`): they are case
    records, reports and secrets, and errors reach logs.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # A writer must take the write lock up front: a deferred transaction that
        # upgrades to writing fails at once with "database is locked" under load.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """The engine of one service and the sessions made from it."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(
            self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )

    def session(self, write: bool = True) -> Session:
        """A new session; writers take SQLite's write lock when they begin."""
        return (self._writers if write else self._readers)()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write session committed on success and rolled back on error."""
        with self.session(write=True) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask) -> Database:
    """Attach the service's database and its request lifecycle to the app."""
    database = Database(app.config["DATABASE_URL"])
    app.extensions["database"] = database
    app.after_request(_commit_successful_request)
    app.teardown_appcontext(_close_session)
    return database


def get_database() -> Database:
    return current_app.extensions["database"]


def get_session() -> Session:
    """The session of the current request, created on first use."""
    if "db_session" not in g:
        g.db_session = get_database().session(write=request.method not in READ_ONLY_METHODS)
    return g.db_session


def purge(session: Session, model, *conditions, batch: int = 500) -> None:
    """Delete up to `batch` rows nobody needs any more, skipping rows another transaction holds,
    so that two writers purging at once never deadlock (PostgreSQL; SQLite has one writer)."""
    stale = select(model.id).where(*conditions).limit(batch).with_for_update(skip_locked=True)
    session.execute(delete(model).where(model.id.in_(stale)).execution_options(synchronize_session=False))


def _commit_successful_request(response):
    session = g.get("db_session")
    if session is None:
        return response
    if response.status_code < 400:
        session.commit()  # failures here reach the error handlers as 500/503
    else:
        session.rollback()
    return response


def _close_session(_exc):
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def describe_error(error: BaseException) -> str:
    """An error in words that quote no data. A database error gives its class, the database's own
    first line and the statement, never the values: PostgreSQL's DETAIL quotes the failing row."""
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        diagnosis = getattr(error.orig, "diag", None)
        words = getattr(diagnosis, "message_primary", None) or str(error.orig).split("\n", 1)[0]
        statement = " ".join((error.statement or "").split())[:300]
        return f"{type(error.orig).__name__}: {words} (SQL: {statement})"
    return f"{type(error).__name__}: {error}"


def log_failure(log: logging.Logger, message: str, error: BaseException) -> None:
    """Log an unexpected failure: with its traceback, unless it is a database error, whose text may
    quote the rows written (then its description only)."""
    if isinstance(error, sa_exc.DBAPIError):
        log.error("%s: %s", message, describe_error(error))
    else:
        log.exception(message, exc_info=error)


class UtcDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
