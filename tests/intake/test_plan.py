"""The catalog as served, activity targets and outcome statistics with their revisions."""

from __future__ import annotations

OUTCOME = "/api/v1/outcomes/secret_filming_male_suspects/2022/1"


def test_the_catalog_is_served_verbatim_in_traditional_chinese(api):
    response = api.get("viewer", "/api/v1/catalog")
    catalog = response.json
    assert len(catalog["actions"]) == 29
    assert [(g["year"], g["baseline_year"], g["kind"]) for g in catalog["goals"]][0] == (2022, 2021, "plan")
    assert catalog["reporting"] == {
        "first_quarter": "2022Q1",
        "due_days": 10,
        "lock_days": 30,
        "behind_threshold": 0.9,
    }
    assert [t["name"] for t in catalog["gbv_types"]][4] == "性勒索"
    assert "警察局" in response.get_data(as_text=True)  # not \\u-escaped


def test_a_coordinator_sets_targets_and_everyone_reads_them(api):
    response = api.put(
        "coordinator",
        "/api/v1/targets/2022/2.police.1/patrol_hours",
        json={"annual": 40, "quarterly": [5, 10, 10, 15]},
    )
    assert response.status_code == 200
    assert response.json["updated_by"] == "coordinator"
    listed = api.get("police", "/api/v1/targets?year=2022&bureau=police").json
    assert [(t["action"], t["metric"], t["annual"]) for t in listed] == [("2.police.1", "patrol_hours", 40)]
    assert api.get("police", "/api/v1/targets?bureau=education").json == []


def test_targets_are_checked_against_the_catalog_and_their_own_sum(api):
    assert (
        api.put("coordinator", "/api/v1/targets/2022/9.police.9/sessions", json={"annual": 1}).status_code
        == 422
    )
    assert (
        api.put("coordinator", "/api/v1/targets/2022/1.police.1/hours", json={"annual": 1}).status_code == 422
    )
    uneven = api.put(
        "coordinator",
        "/api/v1/targets/2022/1.police.1/sessions",
        json={"annual": 10, "quarterly": [1, 1, 1, 1]},
    )
    assert uneven.status_code == 422
    assert "add up to 4" in uneven.json["detail"]
    assert (
        api.put("coordinator", "/api/v1/targets/2022/1.police.1/sessions", json={"annual": -1}).status_code
        == 422
    )
    assert api.get("viewer", "/api/v1/targets").json == []


def test_outcome_counts_keep_every_revision(api):
    api.put("statistics", OUTCOME, json={"count": 40})
    corrected = api.put("statistics", OUTCOME, json={"count": 42})
    assert corrected.json["revision"] == 2
    (outcome,) = api.get("viewer", "/api/v1/outcomes?indicator=secret_filming_male_suspects").json
    assert [(h["number"], h["count"], h["previous"]) for h in outcome["history"]] == [
        (1, 40, None),
        (2, 42, 40),
    ]


def test_history_back_to_2016_is_accepted_in_one_all_or_nothing_batch(api):
    items = [
        {"indicator": "secret_filming_male_suspects", "year": year, "quarter": q, "count": 10 + q}
        for year in range(2016, 2022)
        for q in (1, 2, 3, 4)
    ]
    assert api.post("statistics", "/api/v1/outcomes", json={"items": items}).status_code == 200
    assert len(api.get("viewer", "/api/v1/outcomes").json) == 24

    spoiled = [*items[:3], {**items[3], "year": 2015}]
    refused = api.post(
        "statistics", "/api/v1/outcomes", json={"items": [{**i, "count": 99} for i in spoiled]}
    )
    assert refused.status_code == 422
    assert "Item 3" in refused.json["detail"]
    assert {o["count"] for o in api.get("viewer", "/api/v1/outcomes").json} == {11, 12, 13, 14}


def test_outcome_counts_are_refused_for_unknown_indicators_future_quarters_and_bad_numbers(api):
    assert api.put("statistics", "/api/v1/outcomes/burglaries/2022/1", json={"count": 1}).status_code == 422
    assert (
        api.put(
            "statistics", "/api/v1/outcomes/secret_filming_male_suspects/2022/4", json={"count": 1}
        ).status_code
        == 422
    )
    assert (
        api.put(
            "statistics", "/api/v1/outcomes/secret_filming_male_suspects/2022/5", json={"count": 1}
        ).status_code
        == 404  # there is no fifth quarter: the route does not match
    )
    for count in (-1, 1.5, "3", None, 10**12):
        assert api.put("statistics", OUTCOME, json={"count": count}).status_code == 422
    assert api.get("viewer", "/api/v1/outcomes").json == []
