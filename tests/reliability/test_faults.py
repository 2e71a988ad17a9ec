"""Faults with real processes: a killed intake, an unreachable PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import random
import threading
import time

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.db import normalise_url
from shared.periods import Quarter
from tests.helpers.databases import postgres_database
from tests.helpers.processes import ServiceProcess, free_port, run_cli
from tests.helpers.proxy import TcpProxy
from tests.intake.conftest import full_report
from tests.reliability.test_load import mint

BATCH = 10_000


def case_csv(prefix: str, count: int) -> str:
    lines = ["ref,date,category,types,role,sex,age_band,cause"]
    lines += [f"{prefix}-{i:06d},2021-06-01,secret_filming,2,suspect,male,30-39,greed" for i in range(count)]
    return "\n".join(lines) + "\n"


def count_refs(database_url: str, prefix: str) -> int:
    engine = create_engine(normalise_url(database_url))
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT COUNT(*) FROM case_records WHERE ref LIKE :p"), {"p": prefix + "-%"}
        ).scalar()
    engine.dispose()
    return found


def test_intake_killed_during_a_bulk_upload_keeps_the_batch_whole_or_not_at_all(intake_server, intake_db_url):
    token = mint(intake_server, "statistics", "stats")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    outcomes = []
    for attempt, delay in enumerate((0.05, 0.3, 0.8)):
        prefix = f"KILL{attempt}"
        body = case_csv(prefix, BATCH)

        def upload(body=body):
            try:
                outcomes.append(
                    requests.post(
                        intake_server.url + "/api/v1/cases/csv", data=body, headers=headers, timeout=60
                    ).status_code
                )
            except requests.RequestException:
                outcomes.append("connection lost")

        uploader = threading.Thread(target=upload)
        uploader.start()
        time.sleep(delay + random.random() * 0.05)
        intake_server.kill()
        uploader.join()
        assert count_refs(intake_db_url, prefix) in (0, BATCH)
        intake_server.start()
    assert "connection lost" in outcomes  # at least one kill really landed mid-upload


@pytest.fixture
def postgres_behind_proxy(tmp_path):
    """A private PostgreSQL database reached through a proxy the test can cut."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        pytest.skip("needs TEST_DATABASE_URL (a PostgreSQL server)")
    from services.intake import SERVICE_DIR

    with postgres_database(server_url, SERVICE_DIR) as database:
        url = make_url(normalise_url(database.url))
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
        try:
            yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        finally:
            proxy.stop()


@pytest.fixture
def intake_on_proxied_postgres(postgres_behind_proxy, tmp_path):
    """intake under gunicorn with 2 workers, on PostgreSQL through the proxy; yields (server, proxy)."""
    proxy, database_url = postgres_behind_proxy
    admin_secret = "dgbv_outage-admin-secret-0123456789abcdef"
    env = {
        "DATABASE_URL": database_url,
        "INTAKE_ADMIN_TOKEN": admin_secret,
        "DGBV_VAR_DIR": str(tmp_path),
        "WEB_WORKERS": "2",
    }
    run_cli(["services.intake", "migrate"], env)
    run_cli(["services.intake", "installed-on"], env)  # it holds the plan's history
    server = ServiceProcess(
        ["gunicorn", "-c", "python:services.gunicorn_conf", "services.intake:create_app()"],
        env,
        free_port(),
        tmp_path / "intake.log",
    )
    server.admin_token = admin_secret
    server.database_url = database_url
    try:
        server.start()
        yield server, proxy
    finally:
        server.stop()


def test_requests_during_a_database_outage_get_503_and_the_service_recovers_by_itself(
    intake_on_proxied_postgres,
):
    server, proxy = intake_on_proxied_postgres
    police = {"Authorization": f"Bearer {mint(server, 'bureau', 'police', 'police')}"}
    current = Quarter.containing(dt.date.today())
    report = f"{server.url}/api/v1/reports/police/{current.year}/{current.quarter}"
    first = requests.put(report, json=full_report("police", 1), headers=police, timeout=30)
    assert first.status_code == 200

    proxy.cut()
    during = []
    for attempt in range(8):
        body = full_report("police", 2 + attempt)
        response = requests.put(report, json=body, headers=police, timeout=60)
        during.append(response)
    assert {r.status_code for r in during} == {503}
    for response in during:
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "Traceback" not in response.text
        assert response.json()["detail"]
    assert requests.get(server.url + "/readyz", timeout=30).status_code == 503

    proxy.restore()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if requests.get(server.url + "/readyz", timeout=30).status_code == 200:
            break
        time.sleep(0.5)
    recovered = requests.put(
        report,
        json=full_report("police", 42),
        headers={**police, "If-Match": first.headers["ETag"]},  # the revision seen before the outage
        timeout=30,
    )
    assert recovered.status_code == 200
    assert requests.get(report, headers=police, timeout=30).json()["revision"] == 2  # nothing from the outage


def test_case_uploads_retried_with_their_idempotency_key_through_database_faults_are_stored_once(
    intake_on_proxied_postgres,
):
    """While each batch is uploaded, a connection breaks at a moment spread over the upload: to
    PostgreSQL (a 503), or between the client and intake (the answer is lost, though the batch may be
    committed). Each client retries with the same Idempotency-Key once the connection is back, and
    its answer is then the first answer: every batch created once, in the database and in the change
    feed, whichever way it was sent (JSON, CSV, or a CSV file in a form)."""
    server, database_link = intake_on_proxied_postgres
    client_link = TcpProxy("127.0.0.1", server.port).start()
    token = mint(server, "statistics", "stats")
    size, batches = 1000, 12

    def send(number: int, key: str | None = None, prefix: str = "FAULT") -> requests.Response | None:
        """A batch as JSON, as CSV, or as a CSV file in a form (a new multipart boundary each time)."""
        prefix = f"{prefix}{number:02d}B"  # a letter ends the batch number: at most 7 digits in a row
        headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}
        url = f"http://127.0.0.1:{client_link.port}/api/v1/cases"
        try:
            if number % 3 == 0:
                records = [
                    {"ref": f"{prefix}-{i:06d}", "date": "2021-06-01", "category": "secret_filming"}
                    | {"role": "suspect", "sex": "male", "age_band": "30-39", "cause": "greed"}
                    for i in range(size)
                ]
                return requests.post(url, json={"records": records}, headers=headers, timeout=60)
            if number % 3 == 1:
                csv_headers = {**headers, "Content-Type": "text/csv"}
                return requests.post(
                    url + "/csv", data=case_csv(prefix, size), headers=csv_headers, timeout=60
                )
            upload = {"file": ("cases.csv", case_csv(prefix, size), "text/csv")}
            return requests.post(url + "/csv", files=upload, headers=headers, timeout=60)
        except requests.RequestException:
            return None  # the answer was lost

    started = time.monotonic()
    assert send(0, prefix="WARM").status_code == 200  # how long one upload takes here, without a fault
    duration = time.monotonic() - started
    answers = []
    for number in range(batches):
        key, link = f"batch-{number}", (database_link, client_link)[number % 2]
        first = []
        uploader = threading.Thread(
            target=lambda number=number, key=key, first=first: first.append(send(number, key))
        )
        uploader.start()
        time.sleep(duration * (0.2 + 1.0 * number / (batches - 1)))  # from early on to past the answer
        link.cut()
        uploader.join()
        link.restore()
        statuses = [first[0].status_code if first[0] is not None else "lost"]
        answer = first[0]
        deadline = time.monotonic() + 60
        while (answer is None or answer.status_code in (409, 503)) and time.monotonic() < deadline:
            time.sleep(0.2)  # 409: the first try may still hold the key
            answer = send(number, key)
            statuses.append(answer.status_code if answer is not None else "lost")
        answers.append((answer, statuses))

    for number, (answer, statuses) in enumerate(answers):
        assert answer.status_code == 200, (number, statuses, answer.text)
        assert answer.json() == {"received": size, "created": size, "updated": 0, "unchanged": 0}, statuses
    engine = create_engine(normalise_url(server.database_url))
    with engine.connect() as connection:
        records = connection.execute(
            text("SELECT COUNT(*) FROM case_records WHERE ref LIKE 'FAULT%'")
        ).scalar()
        changes = connection.execute(
            text("SELECT COUNT(*) FROM changes WHERE entity = 'case' AND key LIKE 'FAULT%'")
        ).scalar()
    engine.dispose()
    assert records == changes == batches * size
    client_link.stop()
    retried = [statuses for _, statuses in answers if len(statuses) > 1]
    replayed = [statuses for answer, statuses in answers if answer.headers.get("Idempotent-Replayed")]
    assert retried and replayed  # uploads were cut short, some after they were committed
    print(f"uploads retried: {retried}; committed before the retry, so replayed: {replayed}")
