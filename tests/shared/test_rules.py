"""The plan's rules, defined once in shared/rules.py from the catalog: dates, progress, goals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import rules
from shared.catalog import default_catalog
from shared.periods import TAIPEI, Quarter

CATALOG = default_catalog()
REPORTING = CATALOG.reporting
FIRST = REPORTING.first_quarter


def taipei(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TAIPEI)


def test_the_catalog_states_the_reporting_rules():
    assert (REPORTING.first_quarter, REPORTING.due_days, REPORTING.lock_days) == (Quarter(2022, 1), 10, 30)
    assert REPORTING.behind_threshold == Decimal("0.9")


def test_a_report_is_due_at_the_end_of_the_tenth_day_after_its_quarter_in_taipei():
    q1 = Quarter(2022, 1)
    assert rules.due_date(REPORTING, q1) == dt.date(2022, 4, 10)
    assert rules.due_at(REPORTING, q1) == taipei(2022, 4, 10, 23, 59, 59, 999999)
    assert rules.lock_at(REPORTING, q1) == taipei(2022, 5, 10, 23, 59, 59, 999999)
    assert rules.due_date(REPORTING, Quarter(2022, 4)) == dt.date(2023, 1, 10)


def test_days_late_count_taipei_calendar_days_after_the_due_date():
    q1 = Quarter(2022, 1)
    assert rules.days_late(REPORTING, q1, taipei(2022, 4, 10, 23, 59)) == 0
    assert rules.days_late(REPORTING, q1, taipei(2022, 4, 11, 0, 1)) == 1
    # 2022-04-10 16:30 UTC is already the 11th in Taipei.
    assert rules.days_late(REPORTING, q1, dt.datetime(2022, 4, 10, 16, 30, tzinfo=dt.UTC)) == 1
    assert rules.days_late(REPORTING, q1, taipei(2022, 3, 1)) == 0


def test_days_until_due_turn_negative_once_the_date_has_passed():
    q1 = Quarter(2022, 1)
    assert rules.days_until_due(REPORTING, q1, taipei(2022, 4, 3, 9)) == 7
    assert rules.days_until_due(REPORTING, q1, taipei(2022, 4, 10, 9)) == 0
    assert rules.days_until_due(REPORTING, q1, taipei(2022, 4, 17, 9)) == -7
    assert rules.days_overdue(REPORTING, q1, taipei(2022, 4, 17, 9)) == 7
    assert rules.days_overdue(REPORTING, q1, taipei(2022, 4, 3, 9)) == 0


def test_a_quarter_locks_after_its_lock_period_unless_reopened_within_one():
    q1 = Quarter(2022, 1)
    assert not rules.is_locked(REPORTING, q1, taipei(2022, 5, 10, 23), None)
    assert rules.is_locked(REPORTING, q1, taipei(2022, 5, 11, 0, 1), None)
    reopened = taipei(2022, 6, 1, 9)
    assert not rules.is_locked(REPORTING, q1, taipei(2022, 6, 30, 9), reopened)
    assert rules.is_locked(REPORTING, q1, taipei(2022, 7, 2, 9), reopened)


def test_a_report_can_be_submitted_only_once_its_quarter_is_over():
    q2 = Quarter(2022, 2)
    assert rules.has_started(q2, taipei(2022, 4, 1, 0, 1))
    assert not rules.has_ended(q2, taipei(2022, 6, 30, 23, 59))
    assert rules.has_ended(q2, taipei(2022, 7, 1, 0, 1))


def test_a_new_deployment_tracks_from_its_first_full_quarter():
    assert rules.first_tracked_quarter(REPORTING, None) == FIRST  # the plan's whole history
    assert rules.first_tracked_quarter(REPORTING, dt.date(2026, 12, 1)) == Quarter(2027, 1)
    assert rules.first_tracked_quarter(REPORTING, dt.date(2026, 10, 1)) == Quarter(2026, 4)
    assert rules.first_tracked_quarter(REPORTING, dt.date(2020, 5, 1)) == FIRST  # before the plan


def test_the_current_reporting_quarter_is_the_latest_whose_due_date_has_passed():
    # 5 July 2022: Q2 has ended (it is the quarter asked for) but is due on 10 July.
    now = taipei(2022, 7, 5, 10)
    assert rules.chased_quarter(FIRST, now) == Quarter(2022, 2)
    assert rules.tracked_quarters(FIRST, now) == [Quarter(2022, 1), Quarter(2022, 2)]
    assert rules.current_reporting_quarter(REPORTING, FIRST, now) == Quarter(2022, 1)
    later = taipei(2022, 7, 11, 0, 1)
    assert rules.current_reporting_quarter(REPORTING, FIRST, later) == Quarter(2022, 2)
    assert rules.current_year(REPORTING, FIRST, taipei(2023, 1, 5, 9)) == 2022  # 2022Q4 is not due yet


def test_before_its_first_quarter_is_due_a_deployment_has_no_current_quarter():
    first = Quarter(2027, 1)
    now = taipei(2026, 12, 1, 9)
    assert rules.tracked_quarters(first, now) == []
    assert rules.chased_quarter(first, now) is None
    assert rules.current_reporting_quarter(REPORTING, first, now) is None
    assert rules.current_year(REPORTING, first, now) == 2026


def test_what_counts_as_submitted():
    assert {"submitted", "accepted", "returned"} == rules.SUBMITTED_STATUSES
    assert {"not_started", "draft"} == rules.OUTSTANDING_STATUSES
    submitted_at = taipei(2022, 4, 12, 9)
    q1 = Quarter(2022, 1)
    assert rules.report_state(REPORTING, q1, "returned", submitted_at, taipei(2022, 5, 1)) == rules.LATE
    assert rules.report_state(REPORTING, q1, "draft", None, taipei(2022, 4, 5)) == rules.NOT_YET_DUE
    assert rules.report_state(REPORTING, q1, None, None, taipei(2022, 4, 11)) == rules.OVERDUE
    assert (
        rules.report_state(REPORTING, q1, "accepted", taipei(2022, 4, 2), taipei(2022, 5, 1)) == rules.ON_TIME
    )


SESSIONS = CATALOG.metric("1.police.1", "sessions")  # output
REFERRED = CATALOG.metric("1.health.1", "cases_referred")  # caseload


def test_an_output_metric_under_the_threshold_of_its_plan_is_behind():
    # 40 a year, Q2: 20 planned. 19 is 95% (not behind); 18 is exactly 90% (not behind); 17 is.
    planned = rules.planned_to_date(40, None, 2)
    assert planned == 20
    assert not rules.judge(SESSIONS, planned, 19, REPORTING.behind_threshold).behind
    assert not rules.judge(SESSIONS, planned, 18, REPORTING.behind_threshold).behind
    assert rules.judge(SESSIONS, planned, 17, REPORTING.behind_threshold).behind
    judgement = rules.judge(SESSIONS, planned, 19, REPORTING.behind_threshold)
    assert (judgement.ratio, judgement.percent) == (Decimal("0.9500"), 95)


def test_the_threshold_is_compared_exactly_not_after_rounding():
    # 89,996 of 100,000 shows as 0.9000 (90%) but is under 90% of plan: behind.
    judgement = rules.judge(SESSIONS, Decimal(100_000), 89_996, Decimal("0.9"))
    assert judgement.behind and judgement.ratio == Decimal("0.9000") and judgement.percent == 90


def test_caseload_metrics_and_metrics_without_a_plan_are_never_behind():
    assert not rules.judge(REFERRED, Decimal(20), 0, REPORTING.behind_threshold).behind
    assert rules.judge(REFERRED, Decimal(20), 0, REPORTING.behind_threshold).ratio is None
    assert not rules.judge(SESSIONS, None, 0, REPORTING.behind_threshold).behind
    assert not rules.judge(SESSIONS, Decimal(0), 0, REPORTING.behind_threshold).behind


def test_a_quarterly_split_is_the_plan_to_date_otherwise_an_even_share():
    assert rules.planned_to_date(100, [10, 30, 20, 40], 2) == 40
    assert rules.planned_to_date(10, None, 1) == Decimal("2.5")


@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_judgement_agrees_with_the_exact_comparison(reported, planned):
    judgement = rules.judge(SESSIONS, Decimal(planned), reported, Decimal("0.9"))
    assert judgement.behind == (reported * 10 < planned * 9)


def test_percentages_are_rounded_half_up():
    assert rules.percent(Decimal("0.565")) == 57
    assert rules.percent(Decimal("0.125")) == 13
    assert rules.percent(None) is None


def test_metrics_that_count_people_are_totalled_from_their_parts():
    assert rules.total_of({"male": 3, "female": 4, "other": 0}) == 7
    assert rules.total_of({"male": 3, "female": None, "other": 0}) is None
    assert rules.total_of(None) is None


MALE_SUSPECTS = CATALOG.indicator("secret_filming_male_suspects")


def _counts(by_year: dict[int, list[int]]) -> dict[tuple[int, int], int]:
    return {(year, q): n for year, counts in by_year.items() for q, n in enumerate(counts, start=1)}


def test_the_plans_own_goal_of_2022_is_the_documents_and_later_years_are_continuations():
    goal = CATALOG.goal(MALE_SUSPECTS.id, 2022)
    assert (goal.kind, goal.baseline_year, goal.reduction) == ("plan", 2021, Decimal("0.03"))
    assert "111 年底" in goal.text and "110 年下降 3%" in goal.text
    later = CATALOG.goal(MALE_SUSPECTS.id, 2026)
    assert (later.kind, later.baseline_year) == ("continuation", 2025)
    assert CATALOG.goal(MALE_SUSPECTS.id, 2040) is None


def test_an_indicator_is_judged_against_its_years_goal():
    counts = _counts({2021: [50, 50, 50, 50], 2022: [48, 49]})
    result = rules.assess_indicator(MALE_SUSPECTS, 2022, CATALOG.goal(MALE_SUSPECTS.id, 2022), counts)
    assert (result["baseline"], result["target"], result["ytd_actual"], result["ytd_target"]) == (
        200,
        Decimal("194.00"),
        97,
        Decimal("97.00"),
    )
    assert result["status"] == rules.ON_TRACK and result["goal"]["kind"] == "plan"


def test_a_year_without_a_goal_shows_its_counts_and_trend_but_no_verdict():
    counts = _counts({2039: [50, 50, 50, 50], 2040: [60]})
    result = rules.assess_indicator(MALE_SUSPECTS, 2040, None, counts)
    assert result["status"] == rules.NO_GOAL and result["goal"] is None
    assert (result["ytd_actual"], result["change_pct"], result["target"], result["ytd_target"]) == (
        60,
        Decimal("20.00"),
        None,
        None,
    )


def test_another_citys_rules_come_from_its_own_catalog():
    from shared.catalog import load_catalog

    other = load_catalog("tests/shared/fixtures/other_city_catalog.yaml")
    reporting = other.reporting
    assert (reporting.due_days, reporting.lock_days, reporting.behind_threshold) == (15, 20, Decimal("0.8"))
    assert rules.due_date(reporting, Quarter(2024, 1)) == dt.date(2024, 4, 15)
    metric = other.metric("1.social.1", "talks")
    assert not rules.judge(metric, Decimal(10), 8, reporting.behind_threshold).behind  # 80% is enough there
    assert other.goal("stalking_victims", 2024).reduction == Decimal("0.05")


@pytest.mark.parametrize("year", [2022, 2023, 2026])
def test_every_tracked_year_has_a_goal_in_the_new_taipei_catalog(year):
    assert all(CATALOG.goal(i.id, year) for i in CATALOG.indicators)
