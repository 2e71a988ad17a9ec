"""Every number and string a client sends any service is bounded in its OpenAPI document, and so in
its schema: the database never sees a value its column cannot hold (no 5xx for an over-long string
or an integer past 64 bits)."""

from __future__ import annotations

import pytest

from services.intake import create_app as create_intake_app
from services.kpi import create_app as create_kpi_app
from services.notify import create_app as create_notify_app
from tests.helpers.openapi_bounds import unbounded_inputs

PEERS = {"INTAKE_URL": "http://127.0.0.1:9", "INTAKE_TOKEN": "dgbv_not-used-by-this-test-0123456789"}
APPS = {
    "intake": lambda database: create_intake_app({"DATABASE_URL": database}),
    "kpi": lambda database: create_kpi_app({"DATABASE_URL": database, **PEERS}),
    "notify": lambda database: create_notify_app(
        {
            "DATABASE_URL": database,
            **PEERS,
            "KPI_URL": "http://127.0.0.1:9",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_FROM": "dgbv-notify@ntpc.example.tw",
            "PUBLIC_BASE_URL": "https://dgbv.ntpc.example.tw",
            "COMMITTEE_EMAILS": ["committee@ntpc.example.tw"],
        }
    ),
}


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_number_and_string_a_client_sends_is_bounded(service, tmp_path):
    app = APPS[service](f"sqlite:///{tmp_path}/never-opened.db")  # the document needs no database
    spec = app.test_client().get("/openapi.json").json
    assert spec["paths"]
    assert unbounded_inputs(spec) == []
