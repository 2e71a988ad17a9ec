"""Fixtures shared by the whole suite: databases, clocks and a policy against skips in CI."""

from __future__ import annotations

import datetime as dt
import logging
import os

import pytest

from tests.helpers.databases import empty_database_url, postgres_database, sqlite_template
from tests.helpers.secrets import find_secrets


class _SecretWatch(logging.Handler):
    """Sees every log record of the whole run, to prove no token or password is ever logged."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record):
        text = f"{record.getMessage()} {record.__dict__}"
        self.leaks += [f"{record.name}: {secret[:12]}…" for secret in set(find_secrets(text))]


SECRET_WATCH = _SecretWatch()


def pytest_configure(config):
    logging.getLogger().addHandler(SECRET_WATCH)


def pytest_collection_modifyitems(config, items):
    """In CI every backend must be tested: a missing PostgreSQL is a failure, not a skip."""
    if os.environ.get("CI") == "true" and not os.environ.get("TEST_DATABASE_URL"):
        raise pytest.UsageError("CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests cannot run")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if os.environ.get("CI") == "true" and skipped:
        terminalreporter.write_line(f"CI forbids skipped tests: {len(skipped)} skipped", red=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if os.environ.get("CI") == "true" and reporter and reporter.stats.get("skipped"):
        session.exitstatus = 1
    if SECRET_WATCH.leaks:
        if reporter:
            reporter.write_line(f"secrets reached the logs: {SECRET_WATCH.leaks[:5]}", red=True)
        session.exitstatus = 1


def backends() -> list:
    """SQLite always; PostgreSQL when TEST_DATABASE_URL names a server."""
    params = ["sqlite"]
    if os.environ.get("TEST_DATABASE_URL"):
        params.append("postgresql")
    return params


class Clock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set_taipei(self, *args) -> None:
        self.now = dt.datetime(*args, tzinfo=dt.timezone(dt.timedelta(hours=8))).astimezone(dt.UTC)

    def advance(self, **kwargs) -> None:
        self.now += dt.timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    # Early in July 2022: the second quarter of the target year has just ended.
    clock = Clock(dt.datetime(2022, 7, 5, 2, 0, tzinfo=dt.UTC))
    return clock


@pytest.fixture(params=backends())
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def _intake_sqlite_template(tmp_path_factory):
    from services.intake import SERVICE_DIR

    return sqlite_template(tmp_path_factory.mktemp("intake-template"), SERVICE_DIR)


@pytest.fixture(scope="session")
def _intake_postgres():
    from services.intake import SERVICE_DIR

    with postgres_database(os.environ["TEST_DATABASE_URL"], SERVICE_DIR) as database:
        yield database


@pytest.fixture
def intake_db_url(backend, request, tmp_path) -> str:
    """A migrated, empty intake database on the backend under test."""
    return empty_database_url("intake", backend, request, tmp_path)
