"""Report compliance per quarter and activity progress against plan, checked by hand.

2022Q1 is due on 2022-04-10 and 2022Q2 on 2022-07-10 (the catalog's due days, 10), end of day in
Taipei. The current reporting quarter is the latest whose due date has passed.
"""

from __future__ import annotations

import pytest

from services.intake import installation


def test_compliance_counts_submitted_and_on_time_bureaus_against_all_six(first_quarter_reports):
    q1 = first_quarter_reports.json("viewer", "/api/v1/compliance?year=2022&quarter=1")
    assert {k: q1[k] for k in q1 if k != "bureaus"} == {
        "year": 2022,
        "quarter": 1,
        "period_label": "民國111年第1季",
        "due_date": "2022-04-10",
        "due_passed": True,
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
        "state": "on_time",
        "submitted": True,
        "submitted_at": None,
        "days_late": 0,
        "on_time": True,
        "days_overdue": 0,
        # The catalog's lock rule: 2022Q1 was due on 10 April and locks 30 days later.
        "open_until": "2022-05-10T23:59:59.999999+08:00",
        "locked": False,
    }
    assert bureaus["police"]["submitted_at"].startswith("2022-04-08T02:00:00")
    late = bureaus["education"]
    assert (late["state"], late["days_late"], late["on_time"], late["days_overdue"]) == ("late", 3, False, 0)
    returned = bureaus["social"]  # submitted, then sent back: it counts as submitted, on time
    assert (returned["status"], returned["submitted"], returned["state"]) == ("returned", True, "on_time")
    for missing, status in (("health", "draft"), ("labor", "not_started"), ("information", "not_started")):
        entry = bureaus[missing]
        assert (entry["status"], entry["state"], entry["submitted"], entry["days_late"]) == (
            status,
            "overdue",
            False,
            None,
        )
        assert (entry["on_time"], entry["days_overdue"]) == (False, 10)  # 2022-04-20 is 10 days past due


def test_without_a_quarter_compliance_and_progress_are_of_the_current_reporting_quarter(
    first_quarter_reports,
):
    assert first_quarter_reports.json("viewer", "/api/v1/compliance")["quarter"] == 1
    assert first_quarter_reports.json("viewer", "/api/v1/progress")["quarter"] == 1
    status = first_quarter_reports.json("viewer", "/api/v1/status")
    assert (status["first_quarter"], status["current_quarter"], status["current_year"]) == (
        "2022Q1",
        "2022Q1",
        2022,
    )


def test_a_quarter_in_progress_is_not_tracked_and_a_draft_of_it_switches_nothing(first_quarter_reports):
    summaries = first_quarter_reports.json("viewer", "/api/v1/compliance/all")
    assert [(s["year"], s["quarter"], s["submitted"]) for s in summaries] == [(2022, 1, 3)]
    assert "bureaus" not in summaries[0]
    assert first_quarter_reports.get("viewer", "/api/v1/compliance?year=2022&quarter=2").status_code == 404


def test_a_quarter_that_has_ended_but_is_not_due_is_never_missing_or_behind(intake, kpi, clock):
    intake.target(2022, "1.police.1", "sessions", 40)
    clock.set_taipei(2022, 4, 8, 10)
    intake.submit_report("police", 2022, 1, values={"1.police.1": {"sessions": 10}})
    clock.set_taipei(2022, 7, 5, 10)  # Q2 has ended; it is due on 10 July
    intake.submit_report("police", 2022, 2, values={"1.police.1": {"sessions": 1}})
    assert kpi.sync().ok
    q2 = kpi.json("viewer", "/api/v1/compliance?year=2022&quarter=2")
    assert q2["due_passed"] is False
    assert {b["bureau"]: b["state"] for b in q2["bureaus"]} == {
        "police": "on_time",
        **{b: "not_yet_due" for b in ("education", "health", "labor", "information", "social")},
    }
    assert {b["days_overdue"] for b in q2["bureaus"]} == {0}
    progress = kpi.json("viewer", "/api/v1/progress?year=2022&quarter=2")
    assert progress["due_passed"] is False
    assert not [row for row in progress["actions"] if row["behind"]]
    assert {row["state"] for row in progress["actions"] if row["kind"] == "output"} == {"not_yet_due"}
    # What the committee sees first is still Q1, where police was on plan.
    assert kpi.json("viewer", "/api/v1/compliance")["quarter"] == 1
    current = kpi.json("viewer", "/api/v1/progress?bureau=police")
    assert (current["quarter"], current["bureaus"][0]["behind_actions"]) == (1, [])
    clock.set_taipei(2022, 7, 11, 10)  # now Q2 is due and judged: 11 of 20 planned
    assert kpi.sync().ok
    judged = kpi.json("viewer", "/api/v1/progress?bureau=police")
    assert (judged["quarter"], judged["bureaus"][0]["behind_actions"]) == (2, ["1.police.1"])


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
    """Targets for 2022 and the reports of the first two quarters, judged once Q2 is due."""
    intake.target(2022, "1.police.1", "sessions", 40)  # no split: 40 x 2 / 4 = 20 by Q2
    intake.target(2022, "1.police.1", "participants", 600, [100, 100, 200, 200])  # 200 by Q2
    intake.target(2022, "1.police.2", "contests", 2, [0, 0, 1, 1])  # nothing planned by Q2: no ratio
    intake.target(2022, "1.education.1", "sessions", 8)  # 4 by Q2
    clock.set_taipei(2022, 4, 5, 10)
    referrals = {"2.police.3": {"referrals_received": 8}}
    intake.submit_report(
        "police", 2022, 1, values={"1.police.1": {"sessions": 5, "participants": 100}, **referrals}
    )
    intake.submit_report("education", 2022, 1, values={"1.education.1": {"sessions": 3}})
    intake.call("coordinator", "POST", "/api/v1/reports/education/2022/1/accept")
    clock.set_taipei(2022, 7, 5, 10)
    intake.submit_report("police", 2022, 2, values={"1.police.1": {"sessions": 6, "participants": 150}})
    intake.save_report(
        "education", 2022, 2, values={"1.education.1": {"sessions": 10}}
    )  # a draft: not counted
    clock.set_taipei(2022, 7, 11, 10)
    assert kpi.sync().ok
    return kpi


def test_progress_compares_year_to_date_reported_values_with_the_plan(half_year_progress):
    progress = half_year_progress.json("viewer", "/api/v1/progress?year=2022&quarter=2")
    assert (progress["year"], progress["quarter"], progress["due_passed"]) == (2022, 2, True)
    assert (progress["threshold"], progress["threshold_percent"]) == (0.9, 90)
    rows = {(a["action"], a["metric"]): a for a in progress["actions"]}
    assert len(rows) == 61  # every metric of the catalog
    assert rows[("1.police.1", "sessions")] == {
        "action": "1.police.1",
        "bureau": "police",
        "program": "primary",
        "metric": "sessions",
        "metric_name": "辦理場次",
        "unit": "場次",
        "kind": "output",
        "state": "behind",
        "planned_to_date": 20.0,
        "reported_to_date": 11,  # 5 + 6
        "by_sex_to_date": None,
        "ratio": 0.55,
        "percent": 55,
        "previous_year_to_date": None,
        "change_pct": None,
        "behind": True,
    }
    participants = rows[("1.police.1", "participants")]
    assert (participants["planned_to_date"], participants["reported_to_date"]) == (200.0, 250)
    assert (participants["ratio"], participants["state"], participants["behind"]) == (1.25, "on_plan", False)
    assert participants["by_sex_to_date"] == {"male": 250, "female": 0, "other": 0}
    nothing_planned = rows[("1.police.2", "contests")]
    assert (nothing_planned["ratio"], nothing_planned["state"], nothing_planned["behind"]) == (
        None,
        "no_target",
        False,
    )
    # Education has not submitted Q2: compliance calls it overdue; its progress is not judged.
    education = rows[("1.education.1", "sessions")]
    assert (education["reported_to_date"], education["state"], education["behind"]) == (
        3,
        "not_reported",
        False,
    )

    assert progress["bureaus"][:2] == [
        {
            "bureau": "police",
            "ratio": 0.9,
            "percent": 90,
            "behind_actions": ["1.police.1"],
        },  # (0.55 + 1.25) / 2
        {"bureau": "education", "ratio": None, "percent": None, "behind_actions": []},
    ]
    assert progress["programs"][0] == {
        "program": "primary",
        "ratio": 0.9,
        "percent": 90,
        "behind_actions": ["1.police.1"],
    }


def test_caseload_metrics_are_shown_with_their_trend_and_never_judged(half_year_progress):
    progress = half_year_progress.json("viewer", "/api/v1/progress?year=2022&quarter=2")
    referrals = next(a for a in progress["actions"] if a["metric"] == "referrals_received")
    assert (referrals["kind"], referrals["state"], referrals["behind"]) == ("caseload", "caseload", False)
    assert (referrals["reported_to_date"], referrals["previous_year_to_date"]) == (9, 0)  # 8 + 1
    assert (referrals["planned_to_date"], referrals["ratio"], referrals["change_pct"]) == (None, None, None)
    caseload = [a for a in progress["actions"] if a["kind"] == "caseload"]
    assert len(caseload) == 27 and not any(a["behind"] for a in caseload)


def test_progress_at_the_first_quarter_counts_only_that_quarter(half_year_progress):
    progress = half_year_progress.json("viewer", "/api/v1/progress?year=2022&quarter=1")
    sessions = progress["actions"][0]
    assert (sessions["planned_to_date"], sessions["reported_to_date"], sessions["ratio"]) == (10.0, 5, 0.5)


def test_progress_narrows_to_a_bureau_or_a_program(half_year_progress):
    police = half_year_progress.json("viewer", "/api/v1/progress?year=2022&quarter=2&bureau=police")
    assert {a["bureau"] for a in police["actions"]} == {"police"}
    assert [b["bureau"] for b in police["bureaus"]] == ["police"]
    assert police["programs"][0] == {
        "program": "primary",
        "ratio": 0.9,
        "percent": 90,
        "behind_actions": ["1.police.1"],
    }

    secondary = half_year_progress.json("viewer", "/api/v1/progress?program=secondary")
    assert (secondary["year"], secondary["quarter"]) == (2022, 2)  # the current reporting quarter
    assert {a["action"] for a in secondary["actions"]} == {
        "2.police.1",
        "2.police.2",
        "2.police.3",
        "2.police.4",
    }
    assert half_year_progress.get("viewer", "/api/v1/progress?bureau=fire").status_code == 404
    assert half_year_progress.get("viewer", "/api/v1/progress?colour=red").status_code == 422


def test_a_deployment_installed_today_has_nothing_overdue_until_its_first_full_quarter_is_due(
    intake_app, intake, kpi, clock
):
    clock.set_taipei(2026, 12, 1, 10)
    with intake_app.extensions["database"].transaction() as session:
        installation.record_if_new(session, intake_app.extensions["catalog"], clock())
    assert kpi.sync().ok
    status = kpi.json("viewer", "/api/v1/status")
    assert (status["first_quarter"], status["current_quarter"], status["current_year"]) == (
        "2027Q1",
        None,
        2026,
    )
    assert kpi.json("viewer", "/api/v1/compliance/all") == []
    missing = kpi.get("viewer", "/api/v1/compliance")
    assert missing.status_code == 404 and "nothing is judged before then" in missing.json["detail"]
    metrics = kpi.scrape().get_data(as_text=True)
    assert "dgbv_report_days_overdue{" not in metrics and "dgbv_current_period{" not in metrics
    clock.set_taipei(2027, 4, 11, 10)  # 2027Q1 is due on 10 April
    assert kpi.sync().ok
    assert [
        (s["year"], s["quarter"], s["submitted"]) for s in kpi.json("viewer", "/api/v1/compliance/all")
    ] == [(2027, 1, 0)]
