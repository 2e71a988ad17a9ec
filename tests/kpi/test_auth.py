"""One identity for the whole system: kpi accepts intake's tokens, checked through intake."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from services.kpi import create_app
from services.notify import create_app as create_notify_app
from shared.auth import Role
from shared.introspection import AuthUnavailable, IntrospectionResolver
from shared.settings import SettingsError
from tests.helpers.processes import free_port
from tests.helpers.proxy import TcpProxy
from tests.helpers.secrets import METRICS_TOKEN
from tests.kpi.conftest import Kpi, kpi_settings


def test_a_revoked_token_stops_working_within_the_cache_time(intake_url, intake):
    now = [1000.0]
    resolver = IntrospectionResolver(intake_url, intake.secrets["service"], ttl=30, timer=lambda: now[0])
    assert resolver(intake.secrets["viewer"]).role == Role.VIEWER
    intake.revoke("viewer")
    now[0] += 29
    assert resolver(intake.secrets["viewer"]).role == Role.VIEWER  # within the cache time: not asked again
    now[0] += 2
    assert resolver(intake.secrets["viewer"]) is None  # asked again: revoked


def test_while_intake_is_briefly_down_a_recent_answer_stands_for_a_bounded_time(intake_url, intake):
    """INTROSPECTION_STALE_SECONDS after an answer's TTL, while intake cannot be reached; never for a
    token not checked before, and never once intake answers again."""
    proxy = TcpProxy("127.0.0.1", urlsplit(intake_url).port).start()
    now = [1000.0]
    resolver = IntrospectionResolver(
        f"http://127.0.0.1:{proxy.port}", intake.secrets["service"], ttl=30, stale=600, timer=lambda: now[0]
    )
    try:
        assert resolver(intake.secrets["viewer"]).role == Role.VIEWER
        proxy.cut()
        now[0] += 31  # the answer is no longer fresh and intake cannot be asked
        assert resolver(intake.secrets["viewer"]).role == Role.VIEWER
        with pytest.raises(AuthUnavailable):
            resolver(intake.secrets["coordinator"])  # never checked: nothing to stand on
        now[0] += 598  # 629 s after the answer: within TTL + STALE
        assert resolver(intake.secrets["viewer"]).role == Role.VIEWER
        now[0] += 2  # 631 s
        with pytest.raises(AuthUnavailable):
            resolver(intake.secrets["viewer"])
        proxy.restore()
        assert resolver(intake.secrets["viewer"]).role == Role.VIEWER
        intake.revoke("viewer")
        now[0] += 31
        assert resolver(intake.secrets["viewer"]) is None  # intake answers: revoked within the TTL
    finally:
        proxy.stop()


def test_kpi_and_notify_take_the_same_introspection_settings(kpi_db_url, intake_url, intake, clock, tmp_path):
    settings = {"INTROSPECTION_TTL_SECONDS": 5.0, "INTROSPECTION_STALE_SECONDS": 120.0}
    kpi = create_app(kpi_settings(kpi_db_url, intake_url, intake, clock, **settings))
    notify = create_notify_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'notify.db'}",
            "INTAKE_URL": intake_url,
            "KPI_URL": "http://127.0.0.1:9",
            "INTAKE_TOKEN": intake.secrets["service"],
            **settings,
        }
    )
    for app in (kpi, notify):
        resolver = app.extensions["token_resolver"]
        assert (resolver.ttl, resolver.stale) == (5.0, 120.0)
        app.extensions["database"].dispose()


def test_a_kpi_app_refuses_a_revoked_token_once_its_cache_time_is_over(kpi_db_url, intake_url, intake, clock):
    app = create_app(kpi_settings(kpi_db_url, intake_url, intake, clock, INTROSPECTION_TTL_SECONDS=0))
    kpi = Kpi(app, intake.secrets)
    assert kpi.get("viewer", "/api/v1/status").status_code == 200
    intake.revoke("viewer")
    refused = kpi.get("viewer", "/api/v1/status")
    assert refused.status_code == 401
    assert refused.content_type == "application/problem+json"
    app.extensions["database"].dispose()


def test_every_api_route_needs_a_token_but_operations_do_not(kpi):
    for path in ("/api/v1/indicators", "/api/v1/compliance", "/api/v1/progress", "/api/v1/status"):
        missing = kpi.get(None, path)
        assert missing.status_code == 401, path
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert kpi.get("not-a-token", "/api/v1/status").status_code == 401
    for path in ("/healthz", "/readyz", "/openapi.json"):
        assert kpi.get(None, path).status_code == 200, path


def test_metrics_are_scraped_only_with_the_scrape_token(kpi):
    kpi.sync()
    # Without it, with an API token (even an admin's) or with another secret: refused, with no figure.
    for who in (None, "admin", "service", METRICS_TOKEN[:-1], METRICS_TOKEN + "0", "Basic " + METRICS_TOKEN):
        refused = kpi.get(who, "/metrics")
        assert refused.status_code == 401, who
        assert refused.content_type == "application/problem+json"
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert "dgbv_" not in refused.get_data(as_text=True)
    scraped = kpi.get(METRICS_TOKEN, "/metrics")
    assert scraped.status_code == 200
    assert "dgbv_sync_cursor" in scraped.get_data(as_text=True)


def test_without_a_scrape_token_kpi_serves_no_metrics_at_all(kpi_db_url, intake_url, intake, clock):
    app = create_app(kpi_settings(kpi_db_url, intake_url, intake, clock, METRICS_TOKEN=None))
    closed = Kpi(app, intake.secrets).get(None, "/metrics")
    assert closed.status_code == 401
    assert "METRICS_TOKEN" in closed.json["detail"]
    app.extensions["database"].dispose()


def test_a_scrape_token_that_can_be_guessed_stops_kpi_at_start(
    kpi_db_url, intake_url, intake, clock, monkeypatch
):
    monkeypatch.setenv("METRICS_TOKEN", "metrics-token")
    settings = kpi_settings(kpi_db_url, intake_url, intake, clock)
    del settings["METRICS_TOKEN"]
    with pytest.raises(SettingsError, match="METRICS_TOKEN: must be at least 32 characters") as refused:
        create_app(settings)
    assert "metrics-token" not in str(refused.value)  # a secret is never echoed


def test_every_signed_in_role_reads_the_aggregate_figures(kpi):
    kpi.sync()
    for who in ("admin", "coordinator", "statistics", "viewer", "service", "police"):
        assert kpi.get(who, "/api/v1/status").status_code == 200, who
        assert kpi.get(who, "/api/v1/indicators").status_code == 200, who


def test_without_intake_an_unknown_token_cannot_be_checked(kpi_db_url, intake, clock):
    app = create_app(kpi_settings(kpi_db_url, f"http://127.0.0.1:{free_port()}", intake, clock))
    unavailable = Kpi(app, intake.secrets).get("viewer", "/api/v1/status")
    assert unavailable.status_code == 503
    assert "intake" in unavailable.json["detail"]
    app.extensions["database"].dispose()


def test_kpi_refuses_to_start_without_knowing_where_intake_is(kpi_db_url):
    with pytest.raises(SettingsError, match="INTAKE_URL is required; INTAKE_TOKEN is required"):
        create_app({"DATABASE_URL": kpi_db_url, "INTAKE_URL": None, "INTAKE_TOKEN": None})


def test_the_openapi_document_describes_the_contract(kpi):
    spec = kpi.get(None, "/openapi.json").json
    assert set(spec["paths"]) == {
        "/api/v1/indicators",
        "/api/v1/trends",
        "/api/v1/compliance",
        "/api/v1/compliance/all",
        "/api/v1/progress",
        "/api/v1/tables/{kind}",
        "/api/v1/status",
    }
    table = spec["paths"]["/api/v1/tables/{kind}"]["get"]
    assert {"application/json", "text/csv"} <= set(table["responses"]["200"]["content"])
    assert {p["name"] for p in table["parameters"]} >= {"from_year", "to_year", "category", "format"}
    kind = spec["paths"]["/api/v1/tables/{kind}"]["parameters"][0]
    assert (kind["name"], kind["schema"]["enum"]) == ("kind", ["suspects", "victims", "types"])
    indicator = spec["components"]["schemas"]["Indicator"]["properties"]
    assert {"baseline", "target", "ytd_target", "change_pct", "status", "projection", "quarters"} <= set(
        indicator
    )
