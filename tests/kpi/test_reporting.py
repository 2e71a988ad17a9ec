"""Report compliance per quarter and activity progress against plan, checked by hand."""

from __future__ import annotations

import pytest

# 2022Q1 is due on 2022-04-10 (the quarter's end + REPORT_DUE_DAYS of 10), end of day in Taipei.


@pytest.fixture
def first_quarter_reports(intake, kpi, clock):
    """Police and social on time, education 3 days late, health a draft, labor and information nothing."""
    clock.set_taipei(2022, 4, 8, 10)
    intake.submit_report("police", 2022, 1)
    intake.submit_report("social", 2022, 1)
    intake.call("coordinator", "POST", "/api/v1/reports/social/2022/1/return", json={"comment": "請補充說明"})
    intake.save_report("health", 2022, 1)
    clock.set_taipei(2022, 4, 13, 9)
    intake.submit_report("education", 2022, 1)
    clock.set_taipei(2022, 4, 20, 10)
    intake.submit_report("police", 2022, 2)  # early: Q2 is not due until 2022-07-10
    assert kpi.sync().ok
    return kpi


def test_compliance_counts_submitted_and_on_time_bureaus_against_all_six(first_quarter_reports):
    q1 = first_quarter_reports.json("viewer", "/api/v1/compliance?year=2022&quarter=1")
    assert {k: q1[k] for k in q1 if k != "bureaus"} == {
        "year": 2022,
        "quarter": 1,
        "period_label": "民國111年第1季",
        "due_date": "2022-04-10",
        "expected": 6,
        "submitted": 3,
        "on_time": 2,
        "completeness": 0.5,  # 3 / 6
        "timeliness": 0.3333,  # 2 / 6
    }
    bureaus = {b["bureau"]: b for b in q1["bureaus"]}
    assert list(bureaus) == ["police", "education", "health", "labor", "information", "social"]
    assert bureaus["police"] | {"submitted_at": None} == {
        "bureau": "police",
        "name": "警察局",
        "status": "submitted",
        "submitted": True,
        "submitted_at": None,
        "days_late": 0,
        "on_time": True,
        "days_overdue": 0,
    }
    assert bureaus["police"]["submitted_at"].startswith("2022-04-08T02:00:00")
    late = bureaus["education"]
    assert (late["submitted"], late["days_late"], late["on_time"], late["days_overdue"]) == (
        True,
        3,
        False,
        0,
    )
    returned = bureaus["social"]
    assert (returned["status"], returned["submitted"], returned["on_time"]) == ("returned", True, True)
    for missing, status in (("health", "draft"), ("labor", "not_started"), ("information", "not_started")):
        entry = bureaus[missing]
        assert (entry["status"], entry["submitted"], entry["days_late"]) == (status, False, None)
        assert (entry["on_time"], entry["days_overdue"]) == (False, 10)  # 2022-04-20 is 10 days past due


def test_without_a_quarter_compliance_is_that_of_the_latest_quarter_past_its_due_date(first_quarter_reports):
    assert first_quarter_reports.json("viewer", "/api/v1/compliance")["quarter"] == 1


def test_a_quarter_with_an_early_submission_is_tracked_before_its_due_date(first_quarter_reports):
    summaries = first_quarter_reports.json("viewer", "/api/v1/compliance/all")
    assert [(s["year"], s["quarter"], s["submitted"], s["completeness"]) for s in summaries] == [
        (2022, 1, 3, 0.5),
        (2022, 2, 1, 0.1667),
    ]
    assert "bureaus" not in summaries[0]
    q2 = first_quarter_reports.json("viewer", "/api/v1/compliance?year=2022&quarter=2")
    assert q2["due_date"] == "2022-07-10"
    assert {b["days_overdue"] for b in q2["bureaus"]} == {0}  # not due yet


def test_an_untracked_quarter_is_not_found_and_a_lone_year_is_invalid(first_quarter_reports):
    assert first_quarter_reports.get("viewer", "/api/v1/compliance?year=2022&quarter=3").status_code == 404
    assert first_quarter_reports.get("viewer", "/api/v1/compliance?year=2022").status_code == 422
    assert first_quarter_reports.get("viewer", "/api/v1/compliance?year=2022&quarter=5").status_code == 422


def test_days_overdue_grow_with_the_clock_at_each_recompute(first_quarter_reports, clock):
    clock.set_taipei(2022, 5, 1, 10)
    first_quarter_reports.sync()
    q1 = first_quarter_reports.json("viewer", "/api/v1/compliance?year=2022&quarter=1")
    assert {b["bureau"]: b["days_overdue"] for b in q1["bureaus"]}["labor"] == 21


@pytest.fixture
def half_year_progress(intake, kpi, clock):
    """Targets for 2022 and the reports of the first two quarters."""
    intake.target(2022, "1.police.1", "sessions", 40)  # no split: 40 x 2 / 4 = 20 by Q2
    intake.target(2022, "1.police.1", "participants", 600, [100, 100, 200, 200])  # 200 by Q2
    intake.target(2022, "2.police.4", "persons_protected", 0)  # nothing planned: no ratio
    intake.target(2022, "1.education.1", "sessions", 8)  # 4 by Q2
    clock.set_taipei(2022, 4, 5, 10)
    intake.submit_report("police", 2022, 1, values={"1.police.1": {"sessions": 5, "participants": 100}})
    intake.submit_report("education", 2022, 1, values={"1.education.1": {"sessions": 3}})
    intake.call("coordinator", "POST", "/api/v1/reports/education/2022/1/accept")
    clock.set_taipei(2022, 7, 5, 10)
    intake.submit_report("police", 2022, 2, values={"1.police.1": {"sessions": 6, "participants": 150}})
    intake.save_report(
        "education", 2022, 2, values={"1.education.1": {"sessions": 10}}
    )  # a draft: not counted
    assert kpi.sync().ok
    return kpi


def test_progress_compares_year_to_date_reported_values_with_the_plan(half_year_progress):
    progress = half_year_progress.json("viewer", "/api/v1/progress?year=2022&quarter=2")
    assert (progress["year"], progress["quarter"], progress["threshold"]) == (2022, 2, 0.9)
    rows = {(a["action"], a["metric"]): a for a in progress["actions"]}
    assert list(rows) == [
        ("1.police.1", "sessions"),
        ("1.police.1", "participants"),
        ("1.education.1", "sessions"),
        ("2.police.4", "persons_protected"),
    ]
    assert rows[("1.police.1", "sessions")] == {
        "action": "1.police.1",
        "bureau": "police",
        "program": "primary",
        "metric": "sessions",
        "metric_name": "辦理場次",
        "unit": "場次",
        "planned_to_date": 20.0,
        "reported_to_date": 11,  # 5 + 6
        "ratio": 0.55,
        "behind": True,
    }
    participants = rows[("1.police.1", "participants")]
    assert (participants["planned_to_date"], participants["reported_to_date"]) == (200.0, 250)
    assert (participants["ratio"], participants["behind"]) == (1.25, False)
    education = rows[("1.education.1", "sessions")]
    assert (education["reported_to_date"], education["ratio"], education["behind"]) == (3, 0.75, True)
    nothing_planned = rows[("2.police.4", "persons_protected")]
    assert (nothing_planned["ratio"], nothing_planned["behind"]) == (None, False)

    assert progress["bureaus"] == [
        {"bureau": "police", "ratio": 0.9, "behind_actions": ["1.police.1"]},  # (0.55 + 1.25) / 2
        {"bureau": "education", "ratio": 0.75, "behind_actions": ["1.education.1"]},
    ]
    assert progress["programs"] == [
        {"program": "primary", "ratio": 0.85, "behind_actions": ["1.police.1", "1.education.1"]},
        {"program": "secondary", "ratio": None, "behind_actions": []},
    ]


def test_progress_at_the_first_quarter_counts_only_that_quarter(half_year_progress):
    progress = half_year_progress.json("viewer", "/api/v1/progress?year=2022&quarter=1")
    sessions = progress["actions"][0]
    assert (sessions["planned_to_date"], sessions["reported_to_date"], sessions["ratio"]) == (10.0, 5, 0.5)


def test_progress_narrows_to_a_bureau_or_a_program(half_year_progress):
    police = half_year_progress.json("viewer", "/api/v1/progress?year=2022&quarter=2&bureau=police")
    assert {a["bureau"] for a in police["actions"]} == {"police"}
    assert [b["bureau"] for b in police["bureaus"]] == ["police"]
    assert police["programs"][0] == {"program": "primary", "ratio": 0.9, "behind_actions": ["1.police.1"]}

    secondary = half_year_progress.json("viewer", "/api/v1/progress?program=secondary")
    assert (secondary["year"], secondary["quarter"]) == (2022, 2)  # the latest quarter by default
    assert [a["action"] for a in secondary["actions"]] == ["2.police.4"]
    assert half_year_progress.get("viewer", "/api/v1/progress?bureau=fire").status_code == 404
    assert half_year_progress.get("viewer", "/api/v1/progress?colour=red").status_code == 422
