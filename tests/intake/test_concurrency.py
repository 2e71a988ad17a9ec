"""No lost update: every write of a report says which revision it saw (If-Match, RFC 9110) and is
refused when the report has moved on; PATCH (RFC 7396) changes only what it names."""

from __future__ import annotations

import io
import json

import pytest

from tests.intake.conftest import full_report

Q2 = "/api/v1/reports/police/2022/2"
MERGE_PATCH = "application/merge-patch+json"


def etag(api, who="police", path=Q2) -> str:
    return api.get(who, path).headers["ETag"]


def revision(number: int) -> dict:
    return {"If-Match": f'"{number}"'}


def patch(api, body, who="police", **headers):
    """A JSON Merge Patch of the report, read first unless headers say which revision."""
    return api.patch(who, Q2, data=json.dumps(body), content_type=MERGE_PATCH, headers=headers)


def test_a_report_is_read_with_its_revision_as_etag(api):
    created = api.put("police", Q2, json=full_report("police", 1), read_first=False)
    assert created.status_code == 200  # a report not yet written needs no If-Match
    assert created.headers["ETag"] == '"1"'
    assert api.get("police", Q2).headers["ETag"] == '"1"'
    assert api.get("coordinator", Q2).headers["ETag"] == '"1"'


def test_a_write_without_if_match_on_an_existing_report_is_refused_with_428(api):
    api.put("police", Q2, json=full_report("police", 1))
    for method, path, body in (
        ("PUT", Q2, full_report("police", 2)),
        ("POST", Q2 + "/submit", None),
    ):
        refused = api.request("police", method, path, json=body, read_first=False)
        assert refused.status_code == 428
        assert refused.content_type == "application/problem+json"
        assert "If-Match" in refused.json["detail"]
        assert refused.headers["ETag"] == '"1"'
    assert api.get("police", Q2).json["revision"] == 1


def test_two_clients_of_one_revision_cannot_both_write_it(api):
    """Tab A saves one field, tab B another, both from revision 1: B is told, A's value stays."""
    api.put("police", Q2, json=full_report("police", 1))
    seen = etag(api)
    tab_a = full_report("police", 1)
    tab_a["actions"][0]["values"]["sessions"] = 9
    assert api.put("police", Q2, json=tab_a, headers={"If-Match": seen}).status_code == 200
    tab_b = full_report("police", 1, note="B 的備註")

    refused = api.put("police", Q2, json=tab_b, headers={"If-Match": seen})
    assert refused.status_code == 412
    assert refused.content_type == "application/problem+json"
    assert "revision 1" in refused.json["detail"] and "revision 2" in refused.json["detail"]
    assert refused.headers["ETag"] == '"2"'
    report = api.get("police", Q2).json
    assert report["revision"] == 2
    assert report["actions"][0]["values"]["sessions"] == 9
    assert report["actions"][0]["note"] is None


def test_a_coordinator_accepts_exactly_the_revision_read(api):
    api.put("police", Q2, json=full_report("police", 2))
    api.post("police", Q2 + "/submit")
    read = etag(api, "coordinator")
    amended = full_report("police", 0)
    amended["reason"] = "全部歸零"
    assert api.put("police", Q2, json=amended).json["revision"] == 3

    stale = api.post("coordinator", Q2 + "/accept", headers={"If-Match": read})
    assert stale.status_code == 412
    assert api.get("coordinator", Q2).json["status"] == "submitted"
    accepted = api.post("coordinator", Q2 + "/accept", headers={"If-Match": etag(api, "coordinator")})
    assert accepted.status_code == 200
    assert accepted.json["status"] == "accepted"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/return", {"comment": "請補正"}),
        ("/reopen", {"reason": "延長填報"}),
    ],
)
def test_return_and_reopen_honour_if_match_too(api, path, body):
    api.put("police", Q2, json=full_report("police", 2))
    api.post("police", Q2 + "/submit")
    assert api.post("coordinator", Q2 + path, json=body, headers=revision(1)).status_code == 412
    assert api.post("coordinator", Q2 + path, json=body, read_first=False).status_code == 428
    assert api.post("coordinator", Q2 + path, json=body, headers=revision(2)).status_code == 200


def test_if_match_star_writes_over_whatever_is_current_but_matches_no_report(api):
    nothing_yet = api.put("police", Q2, json=full_report("police", 1), headers={"If-Match": "*"})
    assert nothing_yet.status_code == 412
    assert "no report yet" in nothing_yet.json["detail"]
    api.put("police", Q2, json=full_report("police", 1))
    assert api.put("police", Q2, json=full_report("police", 2), headers={"If-Match": "*"}).status_code == 200


@pytest.mark.parametrize("header", ['W/"1"', '"x"', '"99999999999999999999999"'])
def test_an_if_match_that_names_no_revision_of_ours_matches_nothing(api, header):
    api.put("police", Q2, json=full_report("police", 1))
    refused = api.put("police", Q2, json=full_report("police", 2), headers={"If-Match": header})
    assert refused.status_code == 412
    assert api.get("police", Q2).json["revision"] == 1


def test_one_of_several_etags_may_match(api):
    api.put("police", Q2, json=full_report("police", 1))
    matched = api.put("police", Q2, json=full_report("police", 2), headers={"If-Match": '"7", "1"'})
    assert matched.status_code == 200


def test_a_workbook_upload_is_a_conditional_write(api):
    api.put("police", Q2, json=full_report("police", 1))
    workbook = api.get("police", Q2 + "/xlsx").data
    upload = {"file": (io.BytesIO(workbook), "report.xlsx")}
    refused = api.post("police", Q2 + "/xlsx", data=upload, headers=revision(0))
    assert refused.status_code == 412


# -- PATCH ------------------------------------------------------------------------------
def test_patch_changes_only_the_fields_it_names(api):
    body = full_report("police", 4, note="原備註", delay_reason="講師延後", countermeasure="下季補辦")
    body["narrative"] = "原說明"
    before = api.put("police", Q2, json=body).json
    patched = patch(api, {"actions": {"1.police.1": {"values": {"sessions": 11}}}}, **revision(1))
    assert patched.status_code == 200, patched.json
    assert patched.headers["ETag"] == '"2"'
    report = api.get("police", Q2).json
    first = report["actions"][0]
    assert first["values"]["sessions"] == 11
    assert first["note"] == "原備註" and first["delay_reason"] == "講師延後"
    assert report["narrative"] == "原說明"
    assert report["actions"][1:] == before["actions"][1:]
    assert report["history"][-1]["changes"] == [
        {"field": "actions.1.police.1.values.sessions", "old": 4, "new": 11}
    ]


def test_patch_sets_one_part_by_sex_and_the_total_follows(api):
    api.put("police", Q2, json=full_report("police", 4))  # participants: 4 men, 0 women, 0 other
    patched = patch(api, {"actions": {"1.police.1": {"by_sex": {"participants": {"female": 6}}}}})
    assert patched.status_code == 200, patched.json
    first = api.get("police", Q2).json["actions"][0]
    assert first["by_sex"]["participants"] == {"male": 4, "female": 6, "other": 0}
    assert first["values"]["participants"] == 10


def test_patch_null_clears_a_member(api):
    api.put("police", Q2, json=full_report("police", 4, note="要刪除的備註"))
    clearing = {"narrative": None, "actions": {"1.police.1": {"note": None, "values": {"sessions": None}}}}
    assert patch(api, clearing).status_code == 200
    report = api.get("police", Q2).json
    assert report["narrative"] == ""
    assert report["actions"][0]["note"] is None
    assert report["actions"][0]["values"]["sessions"] is None


def test_patch_creates_a_report_that_does_not_exist_yet(api):
    created = patch(api, {"narrative": "先寫說明"})
    assert created.status_code == 200
    assert api.get("police", Q2).json["narrative"] == "先寫說明"


def test_a_bad_patch_names_the_action_and_writes_nothing(api):
    api.put("police", Q2, json=full_report("police", 4))
    for body, where in (
        ({"actions": {"1.police.1": {"values": {"nope": 1}}}}, "1.police.1"),
        ({"actions": {"1.education.1": {"values": {"sessions": 1}}}}, "1.education.1"),
        ({"actions": {"1.police.1": {"values": {"participants": 3}}}}, "1.police.1"),
    ):
        refused = patch(api, body)
        assert refused.status_code == 422, (body, refused.json)
        assert refused.content_type == "application/problem+json"
        assert where in refused.json["errors"]["actions"], refused.json
    for body in ({"actions": {"1.police.1": {"values": {"sessions": -1}}}}, {"actions": []}, {"x": 1}):
        refused = patch(api, body)
        assert refused.status_code == 422, (body, refused.json)
    assert api.get("police", Q2).json["revision"] == 1


def test_patch_takes_only_the_merge_patch_media_type_and_put_only_json(api):
    api.put("police", Q2, json=full_report("police", 4))
    as_json = api.patch("police", Q2, json={"narrative": "x"})
    assert as_json.status_code == 415
    assert MERGE_PATCH in as_json.json["detail"]
    as_patch = api.put("police", Q2, data=json.dumps(full_report("police", 4)), content_type=MERGE_PATCH)
    assert as_patch.status_code == 415


def test_put_is_documented_as_a_full_replacement_and_patch_as_a_merge_patch(api):
    operations = api.client.get("/openapi.json").json["paths"]["/api/v1/reports/{bureau}/{year}/{quarter}"]
    assert "full replacement" in operations["put"]["description"]
    assert MERGE_PATCH in operations["patch"]["requestBody"]["content"]
    for method in ("put", "patch"):
        assert {"412", "428"} <= set(operations[method]["responses"])
        assert "ETag" in operations[method]["responses"]["200"]["headers"]
        assert any(p["name"] == "If-Match" for p in operations[method]["parameters"])
