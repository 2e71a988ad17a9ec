"""Trends: the yearly counts, their growth rate (年增率) and the male/female ratio (倍)."""

from __future__ import annotations

from decimal import Decimal

from services.kpi.trends import cagr_pct, times


def test_the_growth_rate_is_compounded_over_the_span():
    assert cagr_pct(16, 81, 4) == Decimal("50.00")  # 16 x 1.5^4 = 81
    assert cagr_pct(100, 121, 2) == Decimal("10.00")
    assert cagr_pct(100, 90, 1) == Decimal("-10.00")
    assert cagr_pct(100, 0, 3) == Decimal("-100.00")
    assert cagr_pct(0, 5, 3) is None  # no growth rate from nothing
    assert cagr_pct(None, 5, 3) is None


def test_the_ratio_is_rounded_half_up():
    assert times(81, 8) == Decimal("10.13")  # 10.125: round() would give 10.12
    assert round(81 / 8, 2) == 10.12
    assert times(5, 0) is None


def test_an_indicators_trend_from_its_counts_and_the_case_records(intake, kpi):
    # The indicator's counts grow by half each year: 16, 24, 36, 54, 81.
    intake.outcomes(
        "secret_filming_male_suspects",
        {
            2017: [4, 4, 4, 4],
            2018: [6, 6, 6, 6],
            2019: [9, 9, 9, 9],
            2020: [13, 13, 14, 14],
            2021: [20, 20, 20, 21],
        },
    )
    # Case records of secret filming suspects: men as above, women 1, 2, 4, 8, 8.
    men = {2017: 16, 2018: 24, 2019: 36, 2020: 54, 2021: 81}
    women = {2017: 1, 2018: 2, 2019: 4, 2020: 8, 2021: 8}
    records = []
    for sex, by_year in (("male", men), ("female", women)):
        for year, count in by_year.items():
            records += [
                {
                    "ref": f"{sex}-{year}-{n}",
                    "date": f"{year}-06-01",
                    "category": "secret_filming",
                    "role": "suspect",
                    "sex": sex,
                    "age_band": "24-29",
                }
                for n in range(count)
            ]
    records.append({**records[0], "ref": "victim-1", "role": "victim"})  # another role: not counted
    intake.cases(records)
    kpi.sync()

    path = "/api/v1/trends?indicator=secret_filming_male_suspects&from_year=2017&to_year=2021"
    trend = kpi.json("statistics", path + "&exact=true")  # every count, as the statistics unit has it
    assert (trend["category"], trend["role"], trend["sex"]) == ("secret_filming", "suspect", "male")
    assert [y["count"] for y in trend["years"]] == [16, 24, 36, 54, 81]
    assert trend["growth_rate_pct"] == 50.0
    assert trend["growth_rate_pct_by_sex"] == {"male": 50.0, "female": 68.18}  # 8^(1/4) = 1.6818
    assert [y["male_female_ratio"] for y in trend["years"]] == [16.0, 12.0, 9.0, 6.75, 10.13]
    assert trend["male_female_ratio_range"] == {"min": 6.75, "max": 16.0}
    assert trend["disclosure"] == {"exact": True, "min_cell": None, "suppressed_cells": 0}

    # Everyone else (and the statistics unit by default): 1 and 2 women are withheld, and so are
    # the ratios and the growth rate that would give them away.
    public = kpi.json("viewer", path)
    assert [(y["female"], y["suppressed"]) for y in public["years"]] == [
        (None, ["female"]),
        (None, ["female"]),
        (4, []),
        (8, []),
        (8, []),
    ]
    assert [y["male"] for y in public["years"]] == [16, 24, 36, 54, 81]
    assert [y["male_female_ratio"] for y in public["years"]] == [None, None, 9.0, 6.75, 10.13]
    assert public["growth_rate_pct_by_sex"] == {"male": 50.0, "female": None}
    assert public["male_female_ratio_range"] == {"min": 6.75, "max": 10.13}
    assert public["disclosure"] == {"exact": False, "min_cell": 3, "suppressed_cells": 2}
    assert kpi.json("statistics", path) == public
    for who in ("viewer", "coordinator", "service", "police"):
        assert kpi.get(who, path + "&exact=true").status_code == 403, who

    default_span = kpi.json("viewer", "/api/v1/trends?indicator=secret_filming_male_suspects")
    assert (default_span["from_year"], default_span["to_year"]) == (2016, 2021)
    assert default_span["years"][0] == {
        "year": 2016,
        "count": None,
        "male": 0,
        "female": 0,
        "male_female_ratio": None,
        "suppressed": [],
    }
    assert default_span["growth_rate_pct"] is None  # 2016 has no count
    assert kpi.get("viewer", "/api/v1/trends?indicator=unknown").status_code == 404
    assert kpi.get("viewer", "/api/v1/trends").status_code == 422
    assert (
        kpi.get("viewer", "/api/v1/trends?indicator=secret_filming_male_suspects&to_year=2015").status_code
        == 422
    )
