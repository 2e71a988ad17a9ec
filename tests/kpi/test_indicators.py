"""The three outcome indicators against the goal of 3% below 2021, checked by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.catalog import default_catalog
from shared.rules import assess_indicator

MALE_SUSPECTS = "secret_filming_male_suspects"
FEMALE_VICTIMS = "secret_filming_female_victims"
OBSCENE_MALE = "obscene_distribution_male_suspects"


def standing(baseline: list[int | None], year: list[int | None]) -> dict:
    """The male-suspects indicator in 2022 against the plan's goal (2021 - 3%), from quarterly counts."""
    counts = {(2021, q): n for q, n in enumerate(baseline, 1) if n is not None}
    counts |= {(2022, q): n for q, n in enumerate(year, 1) if n is not None}
    catalog = default_catalog()
    return assess_indicator(catalog.indicator(MALE_SUSPECTS), 2022, catalog.goal(MALE_SUSPECTS, 2022), counts)


def test_on_track_when_the_year_to_date_count_is_at_or_under_the_seasonal_target():
    # baseline 60+40+50+50 = 200, target 200 x 0.97 = 194; Q1: 57 against 60 x 0.97 = 58.2.
    result = standing([60, 40, 50, 50], [57])
    assert result["baseline"] == 200
    assert result["target"] == Decimal("194.00")
    assert (result["latest_quarter"], result["ytd_actual"], result["baseline_ytd"]) == (1, 57, 60)
    assert result["ytd_target"] == Decimal("58.20")
    assert result["change_pct"] == Decimal("-5.00")  # (57 / 60 - 1) x 100
    assert result["projection"] == Decimal("190.00")  # 57 x 200 / 60
    assert result["status"] == "on_track"


def test_exactly_on_the_seasonal_target_is_on_track():
    # 100 x 0.97 = 97 exactly.
    assert standing([100, 100, 100, 100], [97])["status"] == "on_track"


def test_at_risk_when_over_the_target_but_not_over_the_baseline_quarters():
    # Q1+Q2: 30+20 = 50 in both years; ytd target 48.5 < 50 <= 50.
    result = standing([30, 20, 25, 25], [31, 19])
    assert (result["ytd_actual"], result["baseline_ytd"], result["ytd_target"]) == (50, 50, Decimal("48.50"))
    assert result["change_pct"] == Decimal("0.00")
    assert result["projection"] == Decimal("100.00")
    assert result["status"] == "at_risk"


def test_off_track_when_over_the_baseline_quarters():
    result = standing([10, 10, 10, 10], [11])
    assert result["change_pct"] == Decimal("10.00")
    assert result["projection"] == Decimal("44.00")  # 11 x 40 / 10
    assert result["status"] == "off_track"


def test_no_data_before_the_first_quarter_of_the_year():
    result = standing([10, 10, 10, 10], [])
    assert result["status"] == "no_data"
    assert result["latest_quarter"] is None
    assert result["ytd_actual"] is result["change_pct"] is result["projection"] is None
    assert result["target"] == Decimal("38.80")


def test_a_missing_quarter_of_the_year_stops_the_year_to_date_before_it():
    result = standing([10, 10, 10, 10], [None, 12])
    assert result["status"] == "no_data"
    assert result["quarters"][1]["count"] == 12


def test_a_missing_baseline_quarter_means_no_baseline():
    result = standing([10, 10, None, 10], [9, 9])
    assert result["status"] == "no_baseline"
    assert result["baseline"] is None and result["target"] is None and result["projection"] is None
    # What can be computed still is: quarters 1-2 of the baseline year are known.
    assert (result["baseline_ytd"], result["ytd_target"]) == (20, Decimal("19.40"))
    assert result["quarters"][2] == {
        "quarter": 3,
        "count": None,
        "baseline_count": None,
        "seasonal_target": None,
    }


def test_a_zero_baseline_has_a_zero_target_and_no_percentage_change():
    unchanged = standing([0, 0, 0, 0], [0])
    assert (unchanged["baseline"], unchanged["target"], unchanged["status"]) == (
        0,
        Decimal("0.00"),
        "on_track",
    )
    assert unchanged["change_pct"] is None and unchanged["projection"] is None

    risen = standing([0, 0, 0, 0], [2])
    assert risen["status"] == "off_track"
    assert risen["change_pct"] is None


def test_met_or_missed_once_the_fourth_quarter_is_in():
    met = standing([50, 50, 50, 50], [60, 50, 40, 44])  # 194 <= 194
    assert (met["ytd_actual"], met["ytd_target"], met["status"]) == (194, Decimal("194.00"), "met")
    missed = standing([50, 50, 50, 50], [60, 50, 40, 45])  # 195 > 194
    assert missed["status"] == "missed"
    assert missed["projection"] == Decimal("195.00")


def test_each_quarter_shows_its_count_the_baseline_count_and_the_seasonal_target():
    result = standing([60, 40, 50, 50], [57])
    assert result["quarters"] == [
        {"quarter": 1, "count": 57, "baseline_count": 60, "seasonal_target": Decimal("58.20")},
        {"quarter": 2, "count": None, "baseline_count": 40, "seasonal_target": Decimal("38.80")},
        {"quarter": 3, "count": None, "baseline_count": 50, "seasonal_target": Decimal("48.50")},
        {"quarter": 4, "count": None, "baseline_count": 50, "seasonal_target": Decimal("48.50")},
    ]


@pytest.fixture
def three_indicators(intake, kpi):
    """One indicator of each trend in the first half of 2022, synced into kpi."""
    intake.outcomes(MALE_SUSPECTS, {2021: [50, 50, 50, 50], 2022: [40, 50]})  # on track
    intake.outcomes(FEMALE_VICTIMS, {2021: [30, 20, 25, 25], 2022: [31, 19]})  # at risk
    intake.outcomes(OBSCENE_MALE, {2021: [10, 10, 10, 10], 2022: [11, None]})  # off track
    assert kpi.sync().ok
    return kpi


def test_the_api_serves_each_indicator_of_the_current_year_from_intakes_counts(three_indicators):
    by_id = {i["indicator"]: i for i in three_indicators.json("viewer", "/api/v1/indicators")}

    male = by_id[MALE_SUSPECTS]
    assert male["name"] == "妨害秘密(偷拍行為)案男性嫌疑人人數"
    assert (male["goal"]["kind"], male["goal"]["baseline_year"], male["goal"]["reduction"]) == (
        "plan",
        2021,
        0.03,
    )
    assert (male["year"], male["baseline_year"], male["baseline"], male["target"]) == (2022, 2021, 200, 194.0)
    assert (male["latest_quarter"], male["ytd_actual"], male["baseline_ytd"]) == (2, 90, 100)
    assert (male["ytd_target"], male["change_pct"], male["projection"]) == (97.0, -10.0, 180.0)
    assert male["status"] == "on_track"
    assert male["quarters"][0] == {"quarter": 1, "count": 40, "baseline_count": 50, "seasonal_target": 48.5}

    assert by_id[FEMALE_VICTIMS]["status"] == "at_risk"
    obscene = by_id[OBSCENE_MALE]
    assert (obscene["status"], obscene["ytd_actual"], obscene["change_pct"]) == ("off_track", 11, 10.0)


def test_a_revised_count_supersedes_the_earlier_one(three_indicators, intake):
    intake.outcomes(OBSCENE_MALE, {2022: [9]})
    three_indicators.sync()
    obscene = three_indicators.json("viewer", "/api/v1/indicators?year=2022")[2]
    assert (obscene["ytd_actual"], obscene["status"]) == (9, "on_track")


def test_a_year_without_a_goal_shows_its_counts_against_the_year_before_without_a_verdict(three_indicators):
    year_2021 = three_indicators.json("viewer", "/api/v1/indicators?year=2021")[0]
    assert (year_2021["baseline_year"], year_2021["ytd_actual"], year_2021["status"]) == (
        2020,
        200,
        "no_goal",
    )
    assert year_2021["goal"] is None and year_2021["target"] is None
    missing = three_indicators.get("viewer", "/api/v1/indicators?year=2030")
    assert missing.status_code == 404
    assert missing.content_type == "application/problem+json"


def test_a_continuation_year_is_judged_against_its_own_goal_and_says_so(intake, kpi, clock):
    clock.set_taipei(2023, 7, 15, 10)
    intake.outcomes(MALE_SUSPECTS, {2022: [50, 50, 50, 50], 2023: [60]})
    assert kpi.sync().ok
    male = kpi.json("viewer", "/api/v1/indicators")[0]  # the current year is 2023 now
    assert (male["year"], male["goal"]["kind"], male["baseline_year"]) == (2023, "continuation", 2022)
    assert (male["ytd_actual"], male["ytd_target"], male["status"]) == (60, 48.5, "off_track")
    assert male["goal"]["text"].startswith("比照原方案") and "原方案未訂此年目標" in male["goal"]["text"]
