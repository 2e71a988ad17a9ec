"""The intake service as a real process on 127.0.0.1, spoken to over HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from shared import rules
from shared.catalog import default_catalog
from shared.periods import Quarter
from tests.helpers.processes import ServiceProcess, free_port, run_cli
from tests.helpers.reports import reopened_quarter
from tests.intake.conftest import full_report

ADMIN_SECRET = "dgbv_test-admin-secret-for-the-server-test"


@pytest.fixture
def server_env(intake_db_url, tmp_path):
    return {"DATABASE_URL": intake_db_url, "INTAKE_ADMIN_TOKEN": ADMIN_SECRET, "DGBV_VAR_DIR": str(tmp_path)}


def test_a_fresh_installation_tracks_reports_from_its_first_full_quarter(server_env, tmp_path):
    run_cli(["services.intake", "migrate"], server_env)
    first = rules.first_tracked_quarter(
        default_catalog().reporting, rules.taipei_today(dt.datetime.now(dt.UTC))
    )
    assert first > Quarter(2026, 4)  # not the plan's first quarter of 2022
    server = ServiceProcess(["services.intake"], server_env, free_port(), tmp_path / "intake.log")
    try:
        server.start()
        admin = {"Authorization": f"Bearer {ADMIN_SECRET}"}
        before = first.previous()
        refused = requests.post(
            f"{server.url}/api/v1/reports/police/{before.year}/{before.quarter}/reopen",
            json={"reason": "補登"},
            headers=admin,
            timeout=10,
        )
        assert refused.status_code == 422
        assert refused.json()["detail"] == f"Reports start with {first} ({first.label_zh})."
    finally:
        server.stop()


def test_python_m_services_intake_migrates_serves_and_takes_a_report(server_env, tmp_path):
    run_cli(["services.intake", "installed-on"], server_env)  # it holds the plan's whole history
    server = ServiceProcess(["services.intake"], server_env, free_port(), tmp_path / "intake.log")
    try:
        server.start()
        admin = {"Authorization": f"Bearer {ADMIN_SECRET}"}
        minted = requests.post(
            server.url + "/api/v1/tokens",
            json={"name": "警察局", "role": "bureau", "bureau": "police"},
            headers=admin,
            timeout=10,
        )
        assert minted.status_code == 201
        police = {"Authorization": f"Bearer {minted.json()['token']}"}

        _, report = reopened_quarter(server.url, admin, "police")
        reopening = requests.get(report, headers=police, timeout=10).headers["ETag"]
        saved = requests.put(
            report, json=full_report("police", 1), headers={**police, "If-Match": reopening}, timeout=10
        )
        assert saved.status_code == 200
        submitted = requests.post(
            report + "/submit", headers={**police, "If-Match": saved.headers["ETag"]}, timeout=10
        )
        assert submitted.json()["status"] == "submitted"

        metrics = requests.get(server.url + "/metrics", timeout=10).text
        assert 'dgbv_intake_reports_submitted_total{bureau="police"} 1.0' in metrics
        assert (
            'dgbv_http_requests_total{endpoint="/api/v1/reports/<string:bureau>/<year:year>/<quarter:quarter>/submit"'
            in metrics
        )
        assert requests.get(server.url + "/readyz", timeout=10).json()["status"] == "ready"
        assert submitted.headers["X-Request-ID"]
    finally:
        server.stop()
    assert ADMIN_SECRET not in server.log()
    assert minted.json()["token"] not in server.log()


def test_the_production_command_is_gunicorn_after_migrate(server_env, tmp_path):
    run_cli(["services.intake", "migrate"], server_env)
    run_cli(["services.intake", "installed-on"], server_env)
    token = run_cli(
        ["services.intake", "mint-token", "--role", "bureau", "--bureau", "police", "--name", "警察局"],
        server_env,
    )
    headers = {"Authorization": f"Bearer {token.strip()}"}
    port = free_port()
    server = ServiceProcess(
        ["gunicorn", "-c", "python:services.gunicorn_conf", "services.intake:create_app()"],
        {**server_env, "WEB_WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")},
        port,
        tmp_path / "gunicorn.log",
    )
    try:
        server.start()
        response = requests.get(server.url + "/api/v1/catalog", headers=headers, timeout=10)
        assert response.json()["plan"]["title"] == "推動防治數位性別暴力案件及被害協助"
        _, report = reopened_quarter(server.url, {"Authorization": f"Bearer {ADMIN_SECRET}"}, "police")
        overwrite = {**headers, "If-Match": "*"}
        requests.put(report, json=full_report("police", 1), headers=overwrite, timeout=10)
        assert requests.post(report + "/submit", headers=overwrite, timeout=10).status_code == 200
        # Whichever worker answers the scrape, the count is the sum over both workers.
        for _ in range(6):
            metrics = requests.get(server.url + "/metrics", timeout=10).text
            assert 'dgbv_intake_reports_submitted_total{bureau="police"} 1.0' in metrics
    finally:
        server.stop()
