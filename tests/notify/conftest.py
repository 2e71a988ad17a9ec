"""Fixtures of the notify tests: a notify database per backend, an SMTP server, intake and kpi."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from services.notify import SERVICE_DIR
from services.notify import create_app as create_notify_app
from tests.helpers.databases import empty_database_url, postgres_database, sqlite_template
from tests.notify.world import Notify, SmtpServer, World, notify_settings


@pytest.fixture(scope="session")
def _notify_sqlite_template(tmp_path_factory):
    return sqlite_template(tmp_path_factory.mktemp("notify-template"), SERVICE_DIR)


@pytest.fixture(scope="session")
def _notify_postgres():
    with postgres_database(os.environ["TEST_DATABASE_URL"], SERVICE_DIR) as database:
        yield database


@pytest.fixture
def notify_db_url(backend, request, tmp_path) -> str:
    """A migrated, empty notify database on the backend under test."""
    return empty_database_url("notify", backend, request, tmp_path)


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on 127.0.0.1, started; `smtp.stop()` takes it down."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def world(_intake_sqlite_template):
    """Intake with tokens and every bureau's contact address, and kpi, running for the module."""
    # Not under pytest's basetemp: a concurrent pytest session may prune that while we run.
    folder = Path(tempfile.mkdtemp(prefix="dgbv-notify-world-"))
    world = World(folder, _intake_sqlite_template.copy_to(folder / "intake.db"))
    try:
        world.start()
        yield world
    finally:
        world.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def period(world):
    """A quarter of this test's own in the module's world."""
    return world.period()


@pytest.fixture
def make_notify(world, notify_db_url, smtp, clock):
    """Build notify apps on one database (several make a restart); closed at the end."""
    apps = []

    def make(**overrides) -> Notify:
        app = create_notify_app(notify_settings(world, notify_db_url, smtp.port, clock, **overrides))
        apps.append(Notify(app, world.secrets))
        return apps[-1]

    yield make
    for notify in apps:
        notify.close()


@pytest.fixture
def notify(make_notify) -> Notify:
    return make_notify()
