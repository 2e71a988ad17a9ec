"""Real processes on 127.0.0.1: intake, and kpi as `python -m services.kpi` starts it (web + scheduler)."""

from __future__ import annotations

import secrets
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.processes import ServiceProcess, free_port, run_cli
from tests.helpers.secrets import METRICS_TOKEN, SCRAPE_HEADERS

MALE = "secret_filming_male_suspects"


def eventually(check, timeout: float = 20, message: str = "condition"):
    """Poll `check` until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{message} not reached within {timeout}s")


def gauge(url: str, name: str) -> float | None:
    text = requests.get(url + "/metrics", headers=SCRAPE_HEADERS, timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return sample.value
    return None


@pytest.fixture
def intake_process(intake_db_url, tmp_path):
    admin = "dgbv_" + secrets.token_urlsafe(24)
    process = ServiceProcess(
        ["services.intake", "run"],
        {"DATABASE_URL": intake_db_url, "INTAKE_ADMIN_TOKEN": admin, "DGBV_VAR_DIR": str(tmp_path)},
        free_port(),
        tmp_path / "intake.log",
    )
    process.start()
    process.admin = admin
    yield process
    process.stop()


def mint(intake: ServiceProcess, role: str) -> str:
    response = requests.post(
        intake.url + "/api/v1/tokens",
        json={"name": f"test {role}", "role": role},
        headers={"Authorization": f"Bearer {intake.admin}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def test_with_intake_stopped_midway_kpi_keeps_answering_and_reports_the_source_down(
    intake_process, kpi_db_url, tmp_path
):
    service, statistics, viewer = (mint(intake_process, role) for role in ("service", "statistics", "viewer"))
    kpi = ServiceProcess(
        ["services.kpi"],  # the development entry point: migrate, scheduler child, web server
        {
            "DATABASE_URL": kpi_db_url,
            "INTAKE_URL": intake_process.url,
            "INTAKE_TOKEN": service,
            "METRICS_TOKEN": METRICS_TOKEN,
            "SYNC_INTERVAL_SECONDS": "0.5",
            "SYNC_RETRIES": "0",
            "SYNC_TIMEOUT_SECONDS": "2",
            # Every answer is stale at once: after intake stops, only INTROSPECTION_STALE_SECONDS
            # (600 s by default) keeps the viewer served.
            "INTROSPECTION_TTL_SECONDS": "0",
            "DGBV_VAR_DIR": str(tmp_path),
        },
        free_port(),
        tmp_path / "kpi.log",
    )
    as_viewer = {"Authorization": f"Bearer {viewer}"}
    try:
        kpi.start()
        posted = requests.post(
            intake_process.url + "/api/v1/outcomes",
            json={
                "items": [
                    *({"indicator": MALE, "year": 2021, "quarter": q, "count": 50} for q in (1, 2, 3, 4)),
                    {"indicator": MALE, "year": 2022, "quarter": 1, "count": 40},
                ]
            },
            headers={"Authorization": f"Bearer {statistics}"},
            timeout=10,
        )
        assert posted.status_code == 200, posted.text

        def synced():
            response = requests.get(kpi.url + "/api/v1/indicators?year=2022", headers=as_viewer, timeout=5)
            return response.status_code == 200 and response.json()[0]["ytd_actual"] == 40 and response.json()

        before = eventually(synced, message="intake's counts in kpi")
        assert before[0]["status"] == "on_track"
        assert gauge(kpi.url, "dgbv_sync_source_up") == 1

        intake_process.stop()
        eventually(lambda: gauge(kpi.url, "dgbv_sync_source_up") == 0, message="source_up 0")

        status = requests.get(kpi.url + "/api/v1/status", headers=as_viewer, timeout=5).json()
        assert status["source_up"] is False
        assert "intake cannot be reached" in status["last_error"]
        assert status["cursor"] == 6  # the installation and five counts
        assert status["age_seconds"] >= 0 and status["last_sync_at"] > status["last_success_at"]
        after = requests.get(kpi.url + "/api/v1/indicators?year=2022", headers=as_viewer, timeout=5)
        assert after.status_code == 200 and after.json() == before
        assert gauge(kpi.url, "dgbv_sync_age_seconds") > 0
        assert gauge(kpi.url, "dgbv_sync_last_success_timestamp_seconds") > 0
        # The viewer's token was checked before intake stopped: kpi takes that answer still.
        assert requests.get(kpi.url + "/api/v1/status", headers=as_viewer, timeout=5).status_code == 200
        # A token kpi has not seen before cannot be checked while intake is down.
        unchecked = requests.get(
            kpi.url + "/api/v1/status", headers={"Authorization": f"Bearer {statistics}"}, timeout=5
        )
        assert unchecked.status_code == 503
    finally:
        kpi.stop()


def test_in_production_the_scheduler_computes_and_every_gunicorn_worker_serves_the_same_figures(
    intake, intake_url, kpi_db_url, tmp_path
):
    intake.outcomes(MALE, {2021: [50, 50, 50, 50], 2022: [40, 50]})
    env = {
        "DATABASE_URL": kpi_db_url,
        "INTAKE_URL": intake_url,
        "INTAKE_TOKEN": intake.secrets["service"],
        "METRICS_TOKEN": METRICS_TOKEN,
        "SYNC_INTERVAL_SECONDS": "0.5",
    }
    run_cli(["services.kpi", "migrate"], env)
    web = ServiceProcess(
        ["gunicorn", "-c", "python:services.gunicorn_conf", "services.kpi:create_app()"],
        {**env, "WEB_WORKERS": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")},
        free_port(),
        tmp_path / "web.log",
    )
    scheduler = ServiceProcess(["services.kpi", "scheduler"], env, free_port(), tmp_path / "scheduler.log")
    try:
        web.start()
        # Without the scheduler nothing is computed: the web workers never sync themselves.
        as_viewer = {"Authorization": f"Bearer {intake.secrets['viewer']}"}
        assert requests.get(web.url + "/api/v1/indicators", headers=as_viewer, timeout=5).status_code == 503
        scheduler.start(wait_path=None)
        eventually(
            lambda: (
                requests.get(web.url + "/api/v1/indicators", headers=as_viewer, timeout=5).status_code == 200
            ),
            message="the scheduler's first snapshot",
        )
        expected = (
            'dgbv_indicator_ytd{indicator="secret_filming_male_suspects",'
            'indicator_name="妨害秘密(偷拍行為)案男性嫌疑人人數",year="2022",year_name="民國111年"} 90.0'
        )
        for _ in range(8):  # several scrapes, so both workers answer
            assert expected in requests.get(web.url + "/metrics", headers=SCRAPE_HEADERS, timeout=5).text
    finally:
        scheduler.stop()
        web.stop()


def test_a_write_to_intake_reaches_kpi_as_it_commits_not_at_the_next_poll(
    intake_process, kpi_db_url, tmp_path
):
    """The scheduler polls only every 300 s here; a count saved in intake still reaches kpi's API
    and /metrics long before that, because kpi waits on intake's feed and is answered at the commit."""
    service, statistics, viewer = (mint(intake_process, role) for role in ("service", "statistics", "viewer"))
    kpi = ServiceProcess(
        ["services.kpi"],
        {
            "DATABASE_URL": kpi_db_url,
            "INTAKE_URL": intake_process.url,
            "INTAKE_TOKEN": service,
            "METRICS_TOKEN": METRICS_TOKEN,
            "SYNC_INTERVAL_SECONDS": "300",
            "DGBV_VAR_DIR": str(tmp_path),
        },
        free_port(),
        tmp_path / "kpi.log",
    )
    as_viewer = {"Authorization": f"Bearer {viewer}"}

    def indicator_2022():
        response = requests.get(kpi.url + "/api/v1/indicators?year=2022", headers=as_viewer, timeout=5)
        return response.json()[0]["ytd_actual"] if response.status_code == 200 else "no snapshot yet"

    try:
        kpi.start()
        eventually(lambda: indicator_2022() != "no snapshot yet", message="kpi's first snapshot")
        for count in (40, 41):  # the second write comes after the follower has applied the first
            posted = requests.put(
                f"{intake_process.url}/api/v1/outcomes/{MALE}/2022/1",
                json={"count": count},
                headers={"Authorization": f"Bearer {statistics}"},
                timeout=10,
            )
            assert posted.status_code == 200, posted.text
            eventually(lambda c=count: indicator_2022() == c, timeout=60, message=f"count {count} in kpi")
        scraped = requests.get(kpi.url + "/metrics", headers=SCRAPE_HEADERS, timeout=5).text
        ytd = [
            s.value
            for family in text_string_to_metric_families(scraped)
            for s in family.samples
            if s.name == "dgbv_indicator_ytd" and s.labels["indicator"] == MALE and s.labels["year"] == "2022"
        ]
        assert ytd == [41.0]
    finally:
        kpi.stop()
