"""Bad requests get RFC 9457 problem documents with readable details, and change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

REPORT = "/api/v1/reports/police/2022/2"


def assert_problem(response, status):
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    body = response.json
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_malformed_json_is_a_clear_400_or_422(api):
    response = api.put("police", REPORT, data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)


def test_a_body_that_is_not_json_is_refused(api):
    response = api.put("police", REPORT, data="narrative=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code in (415, 422)
    assert_problem(response, response.status_code)


def test_oversize_bodies_are_refused_before_they_are_read(intake_app, api):
    intake_app.config["MAX_CONTENT_LENGTH"] = 1024
    response = api.put("police", REPORT, json={"narrative": "字" * 2000})
    assert_problem(response, 413)


def test_validation_errors_name_each_field(api):
    body = assert_problem(
        api.put("police", REPORT, json={"actions": [{"action": 1, "values": {"sessions": -5}}]}), 422
    )
    assert body["errors"]["json"]["actions"]["0"]["values"]
    assert "actions" in body["detail"]


def test_unknown_routes_and_methods_are_problems_too(api):
    assert_problem(api.get("admin", "/api/v1/nothing"), 404)
    response = api.request("admin", "DELETE", "/api/v1/catalog")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_a_database_that_cannot_be_reached_answers_503_not_500(intake_app, api, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from services.intake import reports

    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(reports, "list_reports", unreachable)
    body = assert_problem(api.get("admin", "/api/v1/reports"), 503)
    assert "try again" in body["detail"]


@pytest.mark.parametrize("header", ["", "x" * 256, "key with spaces"])
def test_invalid_idempotency_keys_are_refused(api, header):
    api.put("police", REPORT, json={"narrative": "x"})
    assert_problem(api.post("police", REPORT + "/submit", headers={"Idempotency-Key": header}), 400)


def test_a_failed_request_leaves_no_trace(intake_app, api):
    api.put("police", REPORT, json={"narrative": "草稿", "actions": []})
    before = count_rows(intake_app)
    api.post("police", REPORT + "/submit")  # incomplete: 422
    api.put(
        "police", REPORT, json={"narrative": "x", "actions": [{"action": "1.police.1", "values": {"x": 1}}]}
    )
    assert count_rows(intake_app) == before


def count_rows(app) -> dict:
    tables = ("reports", "report_revisions", "changes", "idempotent_requests")
    with app.extensions["database"].engine.connect() as connection:
        return {t: connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in tables}


@pytest.mark.parametrize(
    ("path", "body", "content_type"),
    [
        (REPORT, "[" * 100_000 + "]" * 100_000, "application/json"),
        (REPORT, '{"narrative":' * 50_000 + '"x"' + "}" * 50_000, "application/merge-patch+json"),
        ("/api/v1/cases", '{"records": [{"district": ' + "[" * 900 + "]" * 900 + "}]}", "application/json"),
        (REPORT, '{"narrative": "x", "actions": ' + "[" * 33 + "]" * 33 + "}", "application/json"),
    ],
    ids=["array", "merge patch", "case record", "one level too deep"],
)
def test_deeply_nested_json_is_a_clear_400_before_it_is_parsed(api, path, body, content_type):
    method = (
        "PATCH" if content_type == "application/merge-patch+json" else ("POST" if "cases" in path else "PUT")
    )
    who = "statistics" if "cases" in path else "police"
    body = assert_problem(api.request(who, method, path, data=body, content_type=content_type), 400)
    assert body["detail"] == "The JSON body nests deeper than 32 levels."
    assert api.get("police", REPORT).status_code == 404


def test_json_nested_as_deeply_as_allowed_is_read(api):
    nested = "[" * 31 + "]" * 31
    response = api.put(
        "police",
        REPORT,
        data='{"narrative": "x", "actions": ' + nested + "}",
        content_type="application/json",
    )
    assert_problem(response, 422)  # read, and refused for its content


def test_a_contact_address_longer_than_an_address_can_be_is_a_clear_422(api):
    address = "x" * 64 + "@" + ("d" * 60 + ".") * 4 + "tw"  # 311 characters, each part of valid length
    response = api.put("admin", "/api/v1/bureaus/police/contacts", json={"contacts": [{"email": address}]})
    body = assert_problem(response, 422)
    assert body["errors"]["json"]["contacts"]["0"]["email"] == ["Longer than maximum length 254."]
    assert {b["id"]: b["contacts"] for b in api.get("admin", "/api/v1/bureaus").json}["police"] == []
