"""Settings are typed, read once, and a missing or malformed one stops the service at start."""

from __future__ import annotations

import datetime as dt

import pytest

from services.intake.config import SETTINGS as INTAKE
from services.kpi import create_app as create_kpi_app
from services.kpi.config import SETTINGS as KPI
from services.notify.config import SETTINGS as NOTIFY
from shared.settings import SettingsError, load, load_one

SOURCES = {"INTAKE_URL": "http://127.0.0.1:8001", "KPI_URL": "http://127.0.0.1:8002", "INTAKE_TOKEN": "t"}


def test_defaults_suit_make_run_and_values_are_typed(tmp_path):
    intake = load(INTAKE, environ={"DGBV_VAR_DIR": str(tmp_path)})
    assert intake["DATABASE_URL"] == f"sqlite:///{tmp_path.resolve() / 'intake.db'}"
    assert (intake["PORT"], intake["MAX_CASE_BATCH"], intake["SESSION_COOKIE_SECURE"]) == (8001, 10_000, True)
    assert intake["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(hours=8)
    notify = load(NOTIFY, environ={**SOURCES, "COMMITTEE_EMAILS": "a@x.tw, b@x.tw", "NOTIFY_DRY_RUN": "yes"})
    assert (notify["COMMITTEE_EMAILS"], notify["DRY_RUN"], notify["SMTP_PORT"]) == (
        ["a@x.tw", "b@x.tw"],
        True,
        587,
    )


def test_every_problem_is_named_at_once_with_its_variable():
    with pytest.raises(SettingsError) as error:
        load(KPI, environ={"INTAKE_URL": "intake:8001", "SYNC_PAGE_SIZE": "many", "SYNC_RETRIES": "-1"})
    message = str(error.value)
    assert "INTAKE_URL='intake:8001': must be an http:// or https:// URL" in message
    assert "INTAKE_TOKEN is required" in message
    assert "SYNC_PAGE_SIZE='many': must be a whole number" in message
    assert "SYNC_RETRIES='-1': must be at least 0" in message


@pytest.mark.parametrize("settings", [KPI, NOTIFY])
def test_the_services_that_read_intake_refuse_to_start_without_it(settings):
    with pytest.raises(SettingsError, match="INTAKE_URL is required"):
        load(settings, environ={})


def test_an_app_fails_fast_on_a_bad_setting(monkeypatch):
    monkeypatch.setenv("INTAKE_URL", "http://127.0.0.1:8001")
    monkeypatch.setenv("INTAKE_TOKEN", "t")
    monkeypatch.setenv("SYNC_INTERVAL_SECONDS", "soon")
    with pytest.raises(SettingsError, match="SYNC_INTERVAL_SECONDS='soon': must be a number"):
        create_kpi_app()


def test_yes_no_settings_parse_alike_everywhere():
    for text, meaning in (
        ("1", True),
        ("on", True),
        ("TRUE", True),
        ("0", False),
        ("No", False),
        ("off", False),
    ):
        assert load_one(INTAKE, "SESSION_COOKIE_SECURE", environ={"SESSION_COOKIE_SECURE": text}) is meaning
        assert load_one(NOTIFY, "EVALUATE_ON_START", environ={"EVALUATE_ON_START": text}) is meaning
    with pytest.raises(SettingsError, match="must be true or false"):
        load_one(NOTIFY, "EVALUATE_ON_START", environ={"EVALUATE_ON_START": "sometimes"})
