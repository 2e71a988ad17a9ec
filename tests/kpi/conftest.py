"""A real intake app served over HTTP on 127.0.0.1, and a KPI app that follows it.

Both run on the backend under test. Intake is the real app on a real socket (a werkzeug
server in a thread), so the KPI service's feed client and token introspection speak real HTTP.
"""

from __future__ import annotations

import os
import threading

import pytest
import requests
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from services.intake import create_app as create_intake_app
from services.intake import tokens
from services.kpi import SERVICE_DIR as KPI_DIR
from services.kpi import create_app as create_kpi_app
from services.kpi import scheduler
from shared.catalog import default_catalog
from shared.db import normalise_url
from tests.helpers.databases import empty_database_url, postgres_database, sqlite_template
from tests.helpers.reports import metric_values, read_before_write
from tests.helpers.secrets import METRICS_TOKEN, SCRAPE_HEADERS

BUREAUS = [b.id for b in default_catalog().bureaus]
ROLE_TOKENS = {
    "admin": ("admin", None),
    "coordinator": ("coordinator", None),
    "statistics": ("statistics", None),
    "viewer": ("viewer", None),
    "service": ("service", None),
    **{bureau: ("bureau", bureau) for bureau in BUREAUS},
}


@pytest.fixture(scope="session")
def _kpi_sqlite_template(tmp_path_factory):
    return sqlite_template(tmp_path_factory.mktemp("kpi-template"), KPI_DIR)


@pytest.fixture(scope="session")
def _kpi_postgres():
    with postgres_database(os.environ["TEST_DATABASE_URL"], KPI_DIR) as database:
        yield database


@pytest.fixture
def kpi_db_url(backend, request, tmp_path) -> str:
    """A migrated, empty kpi database on the backend under test."""
    url = empty_database_url("kpi", backend, request, tmp_path)
    if backend == "postgresql":
        # The migration's one sync_state row, which the truncation removed.
        engine = create_engine(normalise_url(url))
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO sync_state (id, cursor) VALUES (1, 0)"))
        engine.dispose()
    return url


class Intake:
    """Speaks to the intake server over HTTP as one of the minted principals."""

    def __init__(self, url: str, secrets: dict[str, str], token_ids: dict[str, int]):
        self.url = url
        self.secrets = secrets
        self.token_ids = token_ids
        self.http = requests.Session()

    def call(self, who: str, method: str, path: str, **kwargs) -> dict | list:
        """One request; a report is read before it is written, and written with the ETag read."""
        headers = {"Authorization": f"Bearer {self.secrets[who]}"}
        headers = read_before_write(
            method,
            path,
            headers,
            lambda report: self.http.get(self.url + report, headers=headers, timeout=30).headers.get("ETag"),
        )
        response = self.http.request(method, self.url + path, headers=headers, timeout=30, **kwargs)
        assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def outcomes(self, indicator: str, by_year: dict[int, list[int | None]]) -> None:
        """Record quarterly counts; None leaves a quarter missing."""
        items = [
            {"indicator": indicator, "year": year, "quarter": q, "count": count}
            for year, counts in by_year.items()
            for q, count in enumerate(counts, start=1)
            if count is not None
        ]
        self.call("statistics", "POST", "/api/v1/outcomes", json={"items": items})

    def save_report(self, bureau: str, year: int, quarter: int, value: int = 1, values=None) -> dict:
        """Save a complete report: every metric `value`, except those given in `values`."""
        values = values or {}
        body = {
            "narrative": "本季依計畫辦理。",
            "actions": [
                {
                    "action": action.id,
                    **metric_values(action, value, values.get(action.id)),
                    "delay_reason": "人力調度",
                    "countermeasure": "下季加開場次",
                }
                for action in default_catalog().actions_for(bureau)
            ],
        }
        return self.call(bureau, "PUT", f"/api/v1/reports/{bureau}/{year}/{quarter}", json=body)

    def submit_report(self, bureau: str, year: int, quarter: int, value: int = 1, values=None) -> dict:
        self.save_report(bureau, year, quarter, value, values)
        return self.call(bureau, "POST", f"/api/v1/reports/{bureau}/{year}/{quarter}/submit")

    def target(self, year: int, action: str, metric: str, annual: int, quarterly=None) -> None:
        self.call(
            "coordinator",
            "PUT",
            f"/api/v1/targets/{year}/{action}/{metric}",
            json={"annual": annual, "quarterly": quarterly},
        )

    def cases(self, records: list[dict]) -> dict:
        return self.call("statistics", "POST", "/api/v1/cases", json={"records": records})

    def revoke(self, who: str) -> None:
        self.call("admin", "POST", f"/api/v1/tokens/{self.token_ids[who]}/revoke")


@pytest.fixture
def intake_app(intake_db_url, clock):
    app = create_intake_app({"DATABASE_URL": intake_db_url, "CLOCK": clock, "TESTING": True})
    yield app
    app.extensions["database"].dispose()


@pytest.fixture
def intake_url(intake_app):
    """The intake app listening on a free port of 127.0.0.1 for the test's duration."""
    server = make_server("127.0.0.1", 0, intake_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def intake(intake_app, intake_url, clock) -> Intake:
    """Tokens for admin, coordinator, statistics, viewer, service and every bureau."""
    secrets, ids = {}, {}
    with intake_app.extensions["database"].transaction() as session:
        for who, (role, bureau) in ROLE_TOKENS.items():
            token, secret = tokens.mint_token(
                session, default_catalog(), name=who, role=role, bureau=bureau, created_by="test", now=clock()
            )
            session.flush()
            secrets[who], ids[who] = secret, token.id
    return Intake(intake_url, secrets, ids)


class Kpi:
    """The KPI app, its scheduler's cycle, and a test client speaking with intake's tokens."""

    def __init__(self, app, secrets: dict[str, str]):
        self.app = app
        self.client = app.test_client()
        self.secrets = secrets

    def sync(self, **kwargs):
        """One scheduler cycle: sync from intake, then recompute the snapshot."""
        return scheduler.run_cycle(self.app, **kwargs)

    def get(self, who: str | None, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.secrets.get(who, who)}"} if who else {}
        return self.client.get(path, headers=headers, **kwargs)

    def scrape(self):
        """/metrics, as Prometheus asks for it: with the scrape token."""
        return self.client.get("/metrics", headers=SCRAPE_HEADERS)

    def json(self, who: str, path: str, **kwargs):
        response = self.get(who, path, **kwargs)
        assert response.status_code == 200, (
            f"GET {path}: {response.status_code} {response.get_data(as_text=True)}"
        )
        return response.json


def kpi_settings(kpi_db_url: str, intake_url: str, intake: Intake, clock, **overrides) -> dict:
    return {
        "DATABASE_URL": kpi_db_url,
        "INTAKE_URL": intake_url,
        "INTAKE_TOKEN": intake.secrets["service"],
        "METRICS_TOKEN": METRICS_TOKEN,
        "CLOCK": clock,
        "TESTING": True,
        "SYNC_RETRIES": 0,
        **overrides,
    }


@pytest.fixture
def kpi_app(kpi_db_url, intake_url, intake, clock):
    app = create_kpi_app(kpi_settings(kpi_db_url, intake_url, intake, clock))
    yield app
    app.extensions["database"].dispose()


@pytest.fixture
def kpi(kpi_app, intake) -> Kpi:
    return Kpi(kpi_app, intake.secrets)


@pytest.fixture
def first_quarter_reports(intake, kpi, clock):
    """Police and social on time, education 3 days late, health a draft, labor and information nothing;
    police has also started a draft of Q2, which cannot be submitted before the quarter ends."""
    clock.set_taipei(2022, 4, 8, 10)
    intake.submit_report("police", 2022, 1)
    intake.submit_report("social", 2022, 1)
    intake.call("coordinator", "POST", "/api/v1/reports/social/2022/1/return", json={"comment": "請補充說明"})
    intake.save_report("health", 2022, 1)
    clock.set_taipei(2022, 4, 13, 9)
    intake.submit_report("education", 2022, 1)
    clock.set_taipei(2022, 4, 20, 10)
    intake.save_report("police", 2022, 2)  # a draft of the quarter in progress
    assert kpi.sync().ok
    return kpi
