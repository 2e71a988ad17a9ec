"""/metrics: the KPI figures as Prometheus gauges, read from the stored snapshot."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from alembic import command
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from services.kpi import SERVICE_DIR, snapshot, sync
from services.kpi.collector import METRICS
from services.kpi.intake_client import IntakeFeed
from shared.catalog import default_catalog
from shared.migrations import alembic_config, upgrade
from shared.periods import Quarter
from shared.rules import (
    CASE_ROLE_NAMES,
    CASE_SEX_NAMES,
    GOAL_KIND_NAMES,
    INDICATOR_STATUS_NAMES,
    INDICATOR_STATUSES,
    is_locked,
)

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


def matching(samples, name: str, **labels) -> dict[frozenset, float]:
    """The samples of `name` whose labels include `labels` (codes; the names travel beside them)."""
    wanted = set(labels.items())
    return {key: value for (metric, key), value in samples.items() if metric == name and wanted <= key}


def sample(samples, name: str, **labels) -> float:
    """The one sample of `name` with these labels among its own."""
    (value,) = matching(samples, name, **labels).values()
    return value


def labels_of(samples, name: str, **labels) -> dict[str, str]:
    (key,) = matching(samples, name, **labels)
    return dict(key)


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
    assert not matching(samples, "dgbv_indicator_target", indicator=MALE, year="2021")
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
    assert not matching(samples, "dgbv_report_days_late", bureau="labor", **q1)
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
    assert not matching(samples, "dgbv_action_progress_ratio", **caseload)

    # Two records of type 2 and one of type 5: too few to publish, so only flagged as withheld.
    for gbv_type in ("2", "5"):
        cell = {"type": gbv_type, "role": "suspect", "sex": "male", "year": "2021"}
        assert not matching(samples, "dgbv_gbv_type_count", **cell)
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


# The label contract (README "KPI metrics"): each code label and the label naming it.
NAMED_BY = {
    "bureau": "bureau_name",
    "indicator": "indicator_name",
    "program": "program_name",
    "action": "action_name",
    "metric": "metric_name",
    "goal": "goal_name",
    "status": "status_name",
    "type": "type_name",
    "role": "role_name",
    "sex": "sex_name",
    "year": "year_name",
}


def catalog_names(catalog) -> dict[str, dict[str, str]]:
    """What each code must be named, straight from the catalog and shared/rules.py."""
    return {
        "bureau": {b.id: b.name for b in catalog.bureaus},
        "indicator": {i.id: i.name for i in catalog.indicators},
        "program": {p.id: p.name for p in catalog.programs},
        "type": {str(t.number): t.name for t in catalog.gbv_types},
        "goal": GOAL_KIND_NAMES,
        "status": INDICATOR_STATUS_NAMES,
        "role": CASE_ROLE_NAMES,
        "sex": CASE_SEX_NAMES,
    }


def test_every_series_carries_the_chinese_name_of_each_code_and_roc_years(plan_in_motion):
    catalog = default_catalog()
    names = catalog_names(catalog)
    samples = scrape(plan_in_motion)
    checked = set()
    for (name, key), _ in samples.items():
        if name not in METRICS:
            continue  # intake's HTTP metrics share the scrape: their `status` is an HTTP status
        labels = dict(key)
        for code, named in NAMED_BY.items():
            if code not in labels:
                continue
            assert named in labels, (name, code)
            checked.add(code)
            if code in names:
                assert labels[named] == names[code][labels[code]], (name, labels)
            elif code == "year":
                assert labels[named] == f"民國{int(labels['year']) - 1911}年", (name, labels)
        if "year" in labels and "quarter" in labels:
            q = Quarter(int(labels["year"]), int(labels["quarter"]))
            assert labels["period_name"] == q.label_zh == f"民國{q.roc_year}年第{q.quarter}季", (name, labels)
        if "action" in labels:
            action = catalog.action(labels["action"])
            program = catalog.program(action.program)
            assert labels["action_name"].startswith(
                f"方案{program.number}・{catalog.bureau(action.bureau).name}第{action.number}項："
            )
            assert labels["action_name"].split("：", 1)[1].rstrip("…") in action.text
            if "metric" in labels:
                assert labels["metric_name"] == catalog.metric(action.id, labels["metric"]).name
    assert checked == set(NAMED_BY)

    assert labels_of(samples, "dgbv_current_period") == {
        "year": "2022",
        "quarter": "1",
        "period": "民國111年第1季",
        "year_name": "民國111年",
        "period_name": "民國111年第1季",
    }
    male = labels_of(samples, "dgbv_indicator_status", indicator=MALE, year="2022", status="on_track")
    assert male["indicator_name"] == "妨害秘密(偷拍行為)案男性嫌疑人人數"
    assert (male["goal_name"], male["status_name"]) == ("方案目標", "符合目標進度")


def test_action_info_names_every_action_of_the_catalog_with_its_full_text(plan_in_motion):
    catalog = default_catalog()
    infos = matching(scrape(plan_in_motion), "dgbv_action_info")
    assert len(infos) == len(catalog.actions)
    by_action = {dict(key)["action"]: dict(key) for key in infos}
    for action in catalog.actions:
        info = by_action[action.id]
        assert info["text"] == action.text
        assert (info["bureau"], info["bureau_name"]) == (action.bureau, catalog.bureau(action.bureau).name)
        assert info["program_name"] == catalog.program(action.program).name
    assert by_action["1.police.1"]["action_name"] == "方案1・警察局第1項：深入本市各級學校及社區"
    assert set(infos.values()) == {1}


def test_open_gaps_are_overdue_reports_of_quarters_the_lock_rule_keeps_open(plan_in_motion, intake, clock):
    catalog = default_catalog()
    q1 = Quarter(2022, 1)
    # 5 July 2022: 2022Q1 was due on 10 April and locked on 10 May, so labor's gap is closed history.
    samples = scrape(plan_in_motion)
    assert sample(samples, "dgbv_report_days_overdue", bureau="labor", year="2022", quarter="1") == 86
    assert is_locked(catalog.reporting, q1, clock(), None)
    assert not matching(samples, "dgbv_report_open_gap")

    # A coordinator reopens it for labor: for lock_days more it is a gap labor can still close.
    report = "/api/v1/reports/labor/2022/1"
    intake.call("coordinator", "POST", report + "/reopen", json={"reason": "補登"})
    assert plan_in_motion.sync().ok
    gaps = matching(scrape(plan_in_motion), "dgbv_report_open_gap")
    assert {dict(key)["bureau"]: value for key, value in gaps.items()} == {"labor": 86}
    (labels,) = (dict(key) for key in gaps)
    assert (labels["bureau_name"], labels["period_name"]) == ("勞工局", "民國111年第1季")

    # Past the reopened lock date, it is history again (2022Q2's gaps, due on 10 July, are open now).
    clock.now = clock() + dt.timedelta(days=catalog.reporting.lock_days + 1)
    assert plan_in_motion.sync().ok
    samples = scrape(plan_in_motion)
    assert not matching(samples, "dgbv_report_open_gap", year="2022", quarter="1")
    assert sample(samples, "dgbv_report_days_overdue", bureau="labor", year="2022", quarter="1") == 117
    open_now = matching(samples, "dgbv_report_open_gap", year="2022", quarter="2")
    assert {dict(key)["bureau"] for key in open_now} == {b.id for b in catalog.bureaus}


def test_the_trends_are_the_seeds_charts_with_names(intake, kpi, clock):
    intake.outcomes(MALE, {2021: [50, 50, 50, 50], 2022: [40, 50]})
    records = [case(f"M-{n}", [2], "suspect", "male", year=2016) for n in range(4)]
    records += [case(f"N-{n}", [2], "suspect", "male", year=2021) for n in range(8)]
    records += [case(f"F-{n}", [2], "suspect", "female", year=2021) for n in range(4)]
    records += [case("G-1", [2], "suspect", "female", year=2016)]
    intake.cases(records)
    clock.set_taipei(2022, 7, 5, 10)
    assert kpi.sync().ok
    samples = scrape(kpi)
    trend = kpi.json("viewer", f"/api/v1/trends?indicator={MALE}")
    assert (trend["from_year"], trend["to_year"]) == (2016, 2021)
    men = {
        dict(k)["year"]: v
        for k, v in matching(samples, "dgbv_trend_count", indicator=MALE, sex="male").items()
    }
    assert men == {str(y["year"]): y["male"] for y in trend["years"] if y["male"] is not None}
    assert men["2021"] == 8
    # One woman in 2016 is withheld by the small-cell rule, and so is her year's ratio and 年增率.
    assert not matching(samples, "dgbv_trend_count", indicator=MALE, sex="female", year="2016")
    assert sample(samples, "dgbv_trend_male_female_ratio", indicator=MALE, year="2021") == 2
    assert not matching(samples, "dgbv_trend_male_female_ratio", indicator=MALE, year="2016")
    growth = labels_of(samples, "dgbv_trend_growth_rate_pct", indicator=MALE, sex="male")
    assert growth["span_name"] == "民國105年至110年"
    assert (growth["role_name"], growth["sex_name"]) == ("嫌疑人", "男性")
    assert sample(samples, "dgbv_trend_growth_rate_pct", indicator=MALE, sex="male") == float(
        trend["growth_rate_pct_by_sex"]["male"]
    )
    assert not matching(samples, "dgbv_trend_growth_rate_pct", indicator=MALE, sex="female")


def test_the_upgrade_that_adds_reopened_at_reads_the_change_feed_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'kpi.db'}"
    command.upgrade(alembic_config(SERVICE_DIR, url), "0003")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE sync_state SET cursor = 42"))
    upgrade(SERVICE_DIR, url)
    with engine.connect() as connection:
        # Rows synced before the column existed get it from the feed, read again from zero.
        assert connection.execute(text("SELECT cursor FROM sync_state")).scalar_one() == 0
        assert connection.execute(text("SELECT reopened_at FROM reports")).all() == []
    engine.dispose()
