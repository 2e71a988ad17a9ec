"""Following intake's change feed: pages applied with their cursor, restarts, rebuilds."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from services.kpi import sync
from services.kpi.intake_client import Page
from services.kpi.models import READ_MODEL, SnapshotItem, SyncState
from shared import changes
from tests.helpers.databases import inserts_refused
from tests.helpers.processes import run_cli
from tests.intake.test_cases import record

MALE = "secret_filming_male_suspects"


def outcome_change(position: int, count: int, quarter: int = 1) -> dict:
    return {
        "position": position,
        "entity": "outcome",
        "key": f"{MALE}/2022/{quarter}",
        "data": changes.write(
            changes.OutcomeChange(
                MALE, 2022, quarter, count, 1, dt.datetime(2022, 7, 1, tzinfo=dt.UTC), "統計科"
            )
        ),
        "recorded_at": "2022-07-01T00:00:00+00:00",
    }


def read_model(database) -> dict[str, list[dict]]:
    """Every row of the read model, without database ids, in key order."""
    with database.session(write=False) as session:
        return {
            model.__tablename__: [
                {c.key: getattr(row, c.key) for c in model.__table__.columns if c.key != "id"}
                for row in session.scalars(select(model).order_by(model.key))
            ]
            for model in READ_MODEL
        }


def stored_snapshot(database) -> dict:
    with database.session(write=False) as session:
        items = {(i.section, i.key): i.data for i in session.scalars(select(SnapshotItem))}
    items[("summary", "current")].pop("computed_at")
    return items


def cursor_of(database) -> int:
    with database.session(write=False) as session:
        return session.get(SyncState, 1).cursor


def test_a_page_is_applied_together_with_its_cursor_or_not_at_all(kpi_app):
    database = kpi_app.extensions["database"]
    broken = {
        "position": 2,
        "entity": "case",
        "key": "C-1",
        "data": {"date": "2021-01-01"},
        "recorded_at": None,
    }
    with pytest.raises(changes.ContractError, match="CaseChange: missing"):
        sync.apply_page(database, 0, Page([outcome_change(1, 40), broken], 2, False))
    assert cursor_of(database) == 0
    assert read_model(database)["outcomes"] == []

    assert sync.apply_page(database, 0, Page([outcome_change(1, 40), outcome_change(2, 45)], 2, False))
    assert cursor_of(database) == 2
    assert [row["count"] for row in read_model(database)["outcomes"]] == [45]  # the later change wins


def test_a_page_that_another_process_has_applied_meanwhile_is_skipped(kpi_app):
    database = kpi_app.extensions["database"]
    page = Page([outcome_change(1, 40)], 1, False)
    assert sync.apply_page(database, 0, page)
    assert not sync.apply_page(database, 0, Page([outcome_change(1, 99)], 1, False))
    assert read_model(database)["outcomes"][0]["count"] == 40


@pytest.fixture
def intake_with_history(intake, clock):
    """Eleven changes of every entity, one of them superseding an earlier one."""
    intake.outcomes(MALE, {2021: [50, 50, 50, 50], 2022: [40, 50]})  # 6 changes
    intake.outcomes(MALE, {2022: [45]})  # supersedes 2022Q1
    intake.target(2022, "1.police.1", "sessions", 40)
    clock.set_taipei(2022, 4, 8, 10)
    intake.submit_report("police", 2022, 1)  # created, submitted: 2 changes
    intake.cases(
        [
            {
                "ref": "C-1",
                "date": "2021-03-01",
                "category": "secret_filming",
                "types": [2],
                "role": "victim",
                "sex": "female",
                "age_band": "18-23",
                "relationship": "stranger",
            }
        ]
    )
    return intake


def test_a_restart_resumes_at_the_stored_cursor_and_a_rebuild_reaches_the_same_state(
    intake_with_history, kpi_app, kpi_db_url, intake_url
):
    database = kpi_app.extensions["database"]
    env = {
        "DATABASE_URL": kpi_db_url,
        "INTAKE_URL": intake_url,
        "INTAKE_TOKEN": intake_with_history.secrets["service"],
        "SYNC_PAGE_SIZE": "4",
    }
    # A process that reads one page and stops, as a crash after its first commit would.
    assert run_cli(["services.kpi", "sync-once", "--max-pages", "1"], env).strip() == "4"
    assert cursor_of(database) == 4
    assert len(read_model(database)["outcomes"]) == 4

    # A new process resumes from position 4, not from zero.
    assert run_cli(["services.kpi", "sync-once"], env).strip() == "11"
    resumed, resumed_snapshot = read_model(database), stored_snapshot(database)
    # reports, targets, outcomes, cases; no installation recorded: the plan's whole history;
    # the one case record counted in its cell and under its type
    assert [len(rows) for rows in resumed.values()] == [1, 1, 6, 1, 0, 1, 1]
    assert {r["key"]: r["count"] for r in resumed["outcomes"]}[f"{MALE}/2022/1"] == 45
    assert resumed["reports"][0]["status"] == "submitted"

    assert run_cli(["services.kpi", "rebuild"], env).strip() == "11"
    assert read_model(database) == resumed
    assert stored_snapshot(database) == resumed_snapshot


def test_a_failed_sync_is_recorded_and_the_last_figures_stay(intake_with_history, kpi, kpi_app, clock):
    assert kpi.sync().ok
    before = kpi.json("viewer", "/api/v1/indicators")
    kpi_app.config["INTAKE_URL"] = "http://127.0.0.1:9"  # nothing listens there
    clock.advance(minutes=5)
    failed = kpi.sync()
    assert not failed.ok and "cannot be reached" in failed.error
    status = kpi.json("viewer", "/api/v1/status")
    assert (status["source_up"], status["cursor"]) == (False, 11)
    assert status["last_error"] == failed.error
    assert status["age_seconds"] == 300
    assert status["last_sync_at"] > status["last_success_at"]
    assert kpi.json("viewer", "/api/v1/indicators") == before


def test_a_database_error_during_a_sync_puts_no_case_record_in_the_logs_or_the_status(
    intake, kpi, kpi_db_url, caplog
):
    """kpi's database refuses the case rows of a page; neither the logs (at DEBUG, where SQLAlchemy
    echoes its statements) nor the sync's recorded error, which any role reads, repeat a value."""
    caplog.set_level(logging.DEBUG)
    intake.cases(
        [record(f"LEAKCHECK-{i:03d}", district="sanxia", cause="quarrel_revenge") for i in range(20)]
    )
    with inserts_refused(kpi_db_url, "cases"):
        failed = kpi.sync()
    assert not failed.ok and "inserts are refused here" in failed.error
    status = kpi.json("viewer", "/api/v1/status")
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.__dict__}" for r in caplog.records)
    assert "sync failed while applying a page" in logged
    for value in ("LEAKCHECK", "sanxia", "quarrel_revenge", "Failing row"):
        assert value not in logged, value
        assert value not in status["last_error"], value
    assert kpi.sync().ok  # once the database takes the rows again


def test_the_scheduler_healthcheck_passes_only_after_a_recent_sync(
    intake_with_history, kpi_db_url, intake_url
):
    env = {
        "DATABASE_URL": kpi_db_url,
        "INTAKE_URL": intake_url,
        "INTAKE_TOKEN": intake_with_history.secrets["service"],
    }
    run_cli(["services.kpi", "migrate"], env)
    with pytest.raises(RuntimeError, match="no sync attempt"):
        run_cli(["services.kpi", "check-sync", "--max-age", "300"], env)
    run_cli(["services.kpi", "sync-once"], env)
    run_cli(["services.kpi", "check-sync", "--max-age", "300"], env)
