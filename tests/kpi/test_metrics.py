"""/metrics: the KPI figures as Prometheus gauges, read from the stored snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from services.kpi import SERVICE_DIR, snapshot, sync
from services.kpi.collector import METRICS
from services.kpi.intake_client import IntakeFeed
from shared.migrations import alembic_config, upgrade
from shared.rules import INDICATOR_STATUSES

MALE = "secret_filming_male_suspects"


def scrape(kpi) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics (asked with the scrape token), keyed by name and labels."""
    response = kpi.scrape()
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def sample(samples, name: str, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


@pytest.fixture
def plan_in_motion(intake, kpi, clock):
    """Counts, reports, a target and case records, synced at 2022-07-05."""
    intake.outcomes(MALE, {2021: [50, 50, 50, 50], 2022: [40, 50]})
    intake.target(2022, "1.police.1", "sessions", 40)
    clock.set_taipei(2022, 4, 8, 10)
    intake.submit_report("police", 2022, 1, values={"1.police.1": {"sessions": 1}})
    clock.set_taipei(2022, 4, 13, 10)
    intake.submit_report("education", 2022, 1)
    intake.cases(
        [
            {
                "ref": "C-1",
                "date": "2021-03-01",
                "category": "secret_filming",
                "types": [2, 5],
                "role": "suspect",
                "sex": "male",
                "age_band": "24-29",
                "cause": "greed",
            },
            {
                "ref": "C-2",
                "date": "2021-03-01",
                "category": "obscene_distribution",
                "types": [2],
                "role": "suspect",
                "sex": "male",
                "age_band": "30-39",
            },
        ]
    )
    clock.set_taipei(2022, 7, 5, 10)
    assert kpi.sync().ok
    return kpi


def test_the_collectors_output_parses_back_into_the_kpi_figures(plan_in_motion, clock):
    samples = scrape(plan_in_motion)

    # 5 July 2022: 2022Q2 has ended but is not due until 10 July; the current period is 2022Q1.
    assert sample(samples, "dgbv_current_period", year="2022", quarter="1", period="民國111年第1季") == 1
    plan = {"indicator": MALE, "year": "2022", "goal": "plan"}
    for status in INDICATOR_STATUSES:
        assert sample(samples, "dgbv_indicator_status", **plan, status=status) == (status == "on_track")
    # Every year carries its own verdict: 2021 has no goal of its own.
    assert (
        sample(samples, "dgbv_indicator_status", indicator=MALE, year="2021", goal="none", status="no_goal")
        == 1
    )
    assert sample(samples, "dgbv_indicator_baseline", indicator=MALE, year="2022") == 200
    assert sample(samples, "dgbv_indicator_target", **plan) == 194
    assert (
        "dgbv_indicator_target",
        frozenset({"indicator": MALE, "year": "2021", "goal": "none"}.items()),
    ) not in samples
    assert sample(samples, "dgbv_indicator_count", indicator=MALE, year="2022", quarter="1") == 40
    assert sample(samples, "dgbv_indicator_ytd", indicator=MALE, year="2022") == 90
    assert sample(samples, "dgbv_indicator_ytd_target", **plan) == 97
    assert sample(samples, "dgbv_indicator_projection", indicator=MALE, year="2022") == 180
    assert sample(samples, "dgbv_indicator_change_pct", indicator=MALE, year="2022") == -10
    assert sample(samples, "dgbv_indicator_seasonal_target", **plan, quarter="3") == 48.5

    q1 = {"year": "2022", "quarter": "1"}
    assert sample(samples, "dgbv_report_submitted", bureau="police", **q1) == 1
    assert sample(samples, "dgbv_report_submitted", bureau="labor", **q1) == 0
    assert sample(samples, "dgbv_report_days_late", bureau="police", **q1) == 0
    assert sample(samples, "dgbv_report_days_late", bureau="education", **q1) == 3
    assert ("dgbv_report_days_late", frozenset({"bureau": "labor", **q1}.items())) not in samples
    assert sample(samples, "dgbv_report_days_overdue", bureau="labor", **q1) == 86  # 2022-04-10 to 07-05
    assert sample(samples, "dgbv_report_days_overdue", bureau="police", **q1) == 0
    assert sample(samples, "dgbv_report_completeness_ratio", **q1) == 0.3333
    assert sample(samples, "dgbv_report_timeliness_ratio", **q1) == 0.1667
    # 2022Q2 is not due yet: nobody is missing or late in it.
    assert not [key for key in samples if key[0].startswith("dgbv_report") and ("quarter", "2") in key[1]]

    # Progress at the current quarter 2022Q1: 1 session reported of 40 / 4 = 10 planned.
    labels = {"bureau": "police", "program": "primary", "action": "1.police.1", "metric": "sessions"}
    assert sample(samples, "dgbv_action_progress_ratio", **labels) == 0.1
    assert sample(samples, "dgbv_action_behind", **labels) == 1
    # A caseload metric is a trend, never a ratio against a plan.
    caseload = {"bureau": "police", "program": "primary", "action": "1.police.5", "metric": "cases_recorded"}
    assert sample(samples, "dgbv_action_caseload_ytd", **caseload, year="2022") == 1
    assert sample(samples, "dgbv_action_caseload_ytd", **caseload, year="2021") == 0
    assert ("dgbv_action_progress_ratio", frozenset(caseload.items())) not in samples

    # Two records of type 2 and one of type 5: too few to publish, so only flagged as withheld.
    for gbv_type in ("2", "5"):
        cell = {"type": gbv_type, "role": "suspect", "sex": "male", "year": "2021"}
        assert ("dgbv_gbv_type_count", frozenset(cell.items())) not in samples
        assert sample(samples, "dgbv_gbv_type_count_suppressed", **cell) == 1

    assert sample(samples, "dgbv_sync_source_up") == 1
    assert sample(samples, "dgbv_sync_last_success_timestamp_seconds") == clock().timestamp()
    assert sample(samples, "dgbv_sync_age_seconds") == 0
    assert sample(samples, "dgbv_sync_cursor") > 0


def case(ref: str, types: list[int], role: str, sex: str, year: int = 2021) -> dict:
    return {
        "ref": ref,
        "date": f"{year}-03-01",
        "category": "secret_filming",
        "types": types,
        "role": role,
        "sex": sex,
        "age_band": "24-29",
    }


def test_type_counts_under_the_small_cell_rule_show_no_case_arriving_and_give_none_away(intake, kpi):
    def type_cells(samples, name):
        return {
            (labels["type"], labels["role"], labels["sex"]): value
            for (metric, labelset), value in samples.items()
            if metric == name and (labels := dict(labelset))["year"] == "2021"
        }

    # Type 3: four male victims. Type 2: five male suspects and one female suspect.
    records = [case(f"V-{n}", [3], "victim", "male") for n in range(4)]
    records += [case(f"S-{n}", [2], "suspect", "male") for n in range(5)]
    records += [case("S-F-1", [2], "suspect", "female")]
    intake.cases(records)
    assert kpi.sync().ok
    samples = scrape(kpi)
    assert type_cells(samples, "dgbv_gbv_type_count") == {("3", "victim", "male"): 4}
    # The woman's cell is small; the men's goes with it, or 6 suspects (the types table's total)
    # minus 5 men would give her away.
    assert type_cells(samples, "dgbv_gbv_type_count_suppressed") == {
        ("2", "suspect", "female"): 1,
        ("2", "suspect", "male"): 1,
    }
    table = kpi.json("statistics", "/api/v1/tables/types?from_year=2021&to_year=2021")
    type_2 = next(row for row in table["rows"] if row["code"] == "2")
    assert type_2["values"][:3] == [6, None, None]

    # A second and a third woman: the second changes nothing anyone can read; from the third, the
    # cells are published.
    intake.cases([case("S-F-2", [2], "suspect", "female")])
    assert kpi.sync().ok
    later = scrape(kpi)
    for name in ("dgbv_gbv_type_count", "dgbv_gbv_type_count_suppressed"):
        assert type_cells(later, name) == type_cells(samples, name)
    intake.cases([case("S-F-3", [2], "suspect", "female")])
    assert kpi.sync().ok
    samples = scrape(kpi)
    assert type_cells(samples, "dgbv_gbv_type_count") == {
        ("3", "victim", "male"): 4,
        ("2", "suspect", "male"): 5,
        ("2", "suspect", "female"): 3,
    }
    assert type_cells(samples, "dgbv_gbv_type_count_suppressed") == {}


def test_type_counts_stored_before_the_rule_are_forgotten_on_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'kpi.db'}"
    command.upgrade(alembic_config(SERVICE_DIR, url), "0002")
    engine = create_engine(url)
    with engine.begin() as connection:
        for section, data in (("gbv_types", {"counts": [[2, "victim", "female", 2021, 1]]}), ("summary", {})):
            connection.execute(
                text("INSERT INTO snapshot_items (section, key, data) VALUES (:section, 'x', :data)"),
                {"section": section, "data": json.dumps(data)},
            )
    upgrade(SERVICE_DIR, url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT section FROM snapshot_items")).scalars().all() == ["summary"]
    engine.dispose()


def test_until_the_scheduler_recomputes_them_metrics_serve_no_type_counts(plan_in_motion, kpi_app):
    with kpi_app.extensions["database"].transaction() as session:
        session.execute(text("DELETE FROM snapshot_items WHERE section = 'gbv_types'"))  # as 0003 does
    samples = scrape(plan_in_motion)
    assert not [name for name, _ in samples if name.startswith("dgbv_gbv_type")]
    assert sample(samples, "dgbv_sync_cursor") > 0
    assert plan_in_motion.sync().ok
    assert [name for name, _ in scrape(plan_in_motion) if name.startswith("dgbv_gbv_type")]


def test_a_scrape_reads_the_stored_snapshot_and_never_recomputes(plan_in_motion, intake, kpi_app):
    intake.outcomes(MALE, {2022: [40, 50, 70]})
    database = kpi_app.extensions["database"]
    feed = IntakeFeed.from_config(kpi_app.config)
    assert sync.sync(database, feed, kpi_app.config["CLOCK"]()).changes == 1  # the read model moves ...
    assert (
        sample(scrape(plan_in_motion), "dgbv_indicator_ytd", indicator=MALE, year="2022") == 90
    )  # ... not the figures
    snapshot.recompute(database, kpi_app.extensions["catalog"], now=kpi_app.config["CLOCK"]())
    assert sample(scrape(plan_in_motion), "dgbv_indicator_ytd", indicator=MALE, year="2022") == 160


def test_before_the_first_sync_only_the_sync_state_is_exposed(kpi):
    samples = scrape(kpi)
    assert sample(samples, "dgbv_sync_cursor") == 0
    assert not any(name.startswith("dgbv_indicator") for name, _ in samples)
    assert kpi.get("viewer", "/api/v1/indicators").status_code == 503


def test_every_kpi_metric_is_documented_in_the_readme():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## KPI metrics", 1)[1].split("\n## ", 1)[0]
    for name, (_, labels) in METRICS.items():
        assert f"`{name}`" in section, name
        for label in labels:
            assert f"`{label}`" in section, (name, label)
