"""Who may call what: every route of the OpenAPI document against every role."""

from __future__ import annotations

import re

import pytest

ALL = {"admin", "coordinator", "statistics", "viewer", "service", "police"}
REPORT = "/api/v1/reports/police/2022/2"

# Every API route, with the roles allowed to call it. A route missing here fails the suite.
ACCESS = {
    ("GET", "/api/v1/catalog"): ALL,
    ("GET", "/api/v1/targets"): ALL,
    ("PUT", "/api/v1/targets/2022/1.police.1/sessions"): {"admin", "coordinator"},
    ("GET", "/api/v1/outcomes"): ALL,
    ("POST", "/api/v1/outcomes"): {"admin", "statistics"},
    ("PUT", "/api/v1/outcomes/secret_filming_male_suspects/2022/1"): {"admin", "statistics"},
    ("GET", "/api/v1/reports"): {"admin", "coordinator", "viewer", "service", "police"},
    ("GET", REPORT): {"admin", "coordinator", "viewer", "service", "police"},
    ("PUT", REPORT): {"admin", "police"},
    ("PATCH", REPORT): {"admin", "police"},
    ("POST", REPORT + "/submit"): {"admin", "police"},
    ("POST", REPORT + "/accept"): {"admin", "coordinator"},
    ("POST", REPORT + "/return"): {"admin", "coordinator"},
    ("POST", REPORT + "/reopen"): {"admin", "coordinator"},
    ("GET", REPORT + "/history"): {"admin", "coordinator", "viewer", "service", "police"},
    ("GET", REPORT + "/xlsx"): {"admin", "coordinator", "viewer", "service", "police"},
    ("POST", REPORT + "/xlsx"): {"admin", "police"},
    ("GET", "/api/v1/cases"): {"admin", "statistics", "service"},
    ("POST", "/api/v1/cases"): {"admin", "statistics"},
    ("POST", "/api/v1/cases/csv"): {"admin", "statistics"},
    ("GET", "/api/v1/changes"): {"admin", "service"},
    ("GET", "/api/v1/tokens"): {"admin"},
    ("POST", "/api/v1/tokens"): {"admin"},
    ("POST", "/api/v1/tokens/1/revoke"): {"admin"},
    ("POST", "/api/v1/tokens/introspect"): {"admin", "service"},
    ("GET", "/api/v1/bureaus"): {"admin", "coordinator", "service"},
    ("PUT", "/api/v1/bureaus/police/contacts"): {"admin"},
    ("GET", "/api/v1/users"): {"admin"},
    ("POST", "/api/v1/users"): {"admin"},
    ("PATCH", "/api/v1/users/police"): {"admin"},
}


def documented_routes(api) -> set[tuple[str, str]]:
    spec = api.client.get("/openapi.json").json
    routes = set()
    for path, operations in spec["paths"].items():
        for method in operations:
            if method in {"get", "put", "post", "patch", "delete"}:
                routes.add((method.upper(), re.sub(r"\{[^}]+\}", "{}", path)))
    return routes


def test_the_access_table_covers_every_documented_route(api):
    def shape(path):
        return re.sub(
            r"/(police|2022|2|1|1\.police\.1|sessions|secret_filming_male_suspects)(?=/|$)", "/{}", path
        )

    table = {(m, shape(p)) for m, p in ACCESS}
    documented = {(m, p) for m, p in documented_routes(api) if p.startswith("/api/")}
    assert documented == table


@pytest.mark.parametrize(("method", "path"), sorted(ACCESS))
def test_without_a_token_every_route_answers_401(api, method, path):
    response = api.request(None, method, path, json={})
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), sorted(ACCESS))
def test_malformed_and_revoked_tokens_answer_401(api, method, path):
    revoked = api.post("admin", "/api/v1/tokens", json={"name": "old", "role": "admin"}).json
    api.post("admin", f"/api/v1/tokens/{revoked['id']}/revoke")
    for token in (revoked["token"], "not-a-token", "dgbv_" + "x" * 43):
        assert api.request(token, method, path, json={}).status_code == 401
    assert api.client.open(path, method=method, headers={"Authorization": "Basic abc"}).status_code == 401


@pytest.mark.parametrize(("method", "path"), sorted(ACCESS))
def test_each_role_is_allowed_or_refused_as_the_table_says(api, method, path):
    for who in sorted(ALL):
        status = api.request(who, method, path, json={}).status_code
        if who in ACCESS[(method, path)]:
            assert status not in (401, 403), (who, method, path, status)
        else:
            assert status == 403, (who, method, path, status)


def test_health_metrics_and_docs_need_no_token(api):
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert api.client.get(path).status_code == 200


def test_introspection_tells_other_services_who_a_token_belongs_to(api):
    answer = api.post("service", "/api/v1/tokens/introspect", json={"token": api.secrets["police"]}).json
    assert answer == {
        "active": True,
        "sub": answer["sub"],
        "name": "police",
        "role": "bureau",
        "bureau": "police",
    }
    assert api.post("service", "/api/v1/tokens/introspect", json={"token": "nope"}).json == {"active": False}


def test_tokens_are_listed_without_secrets_and_minted_once(api):
    minted = api.post(
        "admin", "/api/v1/tokens", json={"name": "社會局窗口", "role": "bureau", "bureau": "social"}
    )
    assert minted.status_code == 201
    assert minted.json["token"].startswith("dgbv_")
    listing = api.get("admin", "/api/v1/tokens").json
    assert all("token" not in t and "token_hash" not in t for t in listing)
    assert api.get(minted.json["token"], "/api/v1/reports").status_code == 200
    assert api.post("admin", "/api/v1/tokens", json={"name": "x", "role": "bureau"}).status_code == 422
    assert (
        api.post(
            "admin", "/api/v1/tokens", json={"name": "x", "role": "bureau", "bureau": "fire"}
        ).status_code
        == 422
    )
    assert (
        api.post(
            "admin", "/api/v1/tokens", json={"name": "x", "role": "viewer", "bureau": "police"}
        ).status_code
        == 422
    )


def test_the_bureau_directory_keeps_contact_addresses(api):
    contacts = {"contacts": [{"email": "Gender@police.ntpc.gov.tw", "name": "婦幼隊"}]}
    assert api.put("admin", "/api/v1/bureaus/police/contacts", json=contacts).status_code == 200
    bureaus = {b["id"]: b for b in api.get("service", "/api/v1/bureaus").json}
    assert bureaus["police"]["contacts"] == [{"email": "gender@police.ntpc.gov.tw", "name": "婦幼隊"}]
    assert bureaus["police"]["name"] == "警察局"
    assert len(bureaus) == 6
    bad = api.put(
        "admin", "/api/v1/bureaus/police/contacts", json={"contacts": [{"email": "not-an-address"}]}
    )
    assert bad.status_code == 422
    assert api.put("admin", "/api/v1/bureaus/fire/contacts", json=contacts).status_code == 404
