"""Intake under gunicorn with several workers, on each backend, for load and fault tests."""

from __future__ import annotations

import pytest

from tests.helpers.processes import ServiceProcess, free_port, run_cli

ADMIN_SECRET = "dgbv_reliability-admin-secret-0123456789"


@pytest.fixture
def intake_server(intake_db_url, tmp_path):
    """intake under `gunicorn -w 2`, as in production; yields the process and an admin token."""
    env = {
        "DATABASE_URL": intake_db_url,
        "INTAKE_ADMIN_TOKEN": ADMIN_SECRET,
        "DGBV_VAR_DIR": str(tmp_path),
        "WEB_WORKERS": "2",
        "WEB_THREADS": "8",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    run_cli(["services.intake", "migrate"], env)
    run_cli(["services.intake", "installed-on"], env)  # it holds the plan's history
    port = free_port()
    server = ServiceProcess(
        ["gunicorn", "-c", "python:services.gunicorn_conf", "services.intake:create_app()"],
        env,
        port,
        tmp_path / "intake.log",
    )
    server.admin_token = ADMIN_SECRET
    server.settings = env
    try:
        server.start()
        yield server
    finally:
        server.stop()
