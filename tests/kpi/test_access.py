"""Every kpi route from its OpenAPI document, against every role and every kind of bad token."""

from __future__ import annotations

from shared.catalog import default_catalog
from tests.helpers.access import api_routes, check_route
from tests.kpi.conftest import BUREAUS

EVERYONE = {"admin", "coordinator", "statistics", "viewer", "service", "police"}
CASE_READERS = {"admin", "statistics", "service"}
EXAMPLES = {"kind": "suspects"}


def allowed_for(path: str) -> set[str]:
    # Tables are built from case records: only the roles that may read case records see them.
    return CASE_READERS if path.startswith("/api/v1/tables/") else EVERYONE


def test_every_route_admits_exactly_its_roles(kpi, intake):
    kpi.sync()
    intake.revoke("viewer")  # a token revoked at intake, not yet seen by kpi
    revoked = intake.secrets["viewer"]

    def call(who, method, path):
        headers = {"Authorization": f"Bearer {kpi.secrets.get(who, who)}"} if who else {}
        return kpi.client.open(path, method=method, headers=headers).status_code

    routes = api_routes(kpi.get(None, "/openapi.json").json, EXAMPLES)
    assert routes
    problems = {}
    for method, path in routes:
        found = check_route(
            call,
            method,
            path,
            allowed_for(path) - {"viewer"},
            EVERYONE - {"viewer"},
            [revoked, "garbage", "dgbv_" + "x" * 43],
        )
        if found:
            problems[f"{method} {path}"] = found
    assert not problems, problems


# What a bureau token reads on each route: its own bureau's rows, and figures of the whole city.
# A route missing here fails the suite, so a new route must say what a bureau sees on it.
BUREAU_VIEW = {
    "/api/v1/indicators": "city-wide counts of the police statistics",
    "/api/v1/trends": "city-wide counts, case counts under the small-cell rule",
    "/api/v1/compliance": "its own bureau's row; the city-wide rates",
    "/api/v1/compliance/all": "the city-wide rates of each quarter",
    "/api/v1/progress": "its own bureau's actions and their rollups",
    "/api/v1/tables/{kind}": "refused (case records)",
    "/api/v1/status": "the sync's state",
}
# Every route a bureau may call, with the queries that reach each of its answers ({bureau}: its own).
BUREAU_CALLS = [
    "/api/v1/indicators",
    "/api/v1/indicators?year=2021",
    "/api/v1/trends?indicator=secret_filming_male_suspects",
    "/api/v1/compliance",
    "/api/v1/compliance?year=2022&quarter=1",
    "/api/v1/compliance/all",
    "/api/v1/progress",
    "/api/v1/progress?year=2022&quarter=1",
    "/api/v1/progress?bureau={bureau}",
    "/api/v1/progress?program=primary",
    "/api/v1/progress?year=2022&quarter=1&program=tertiary",
    "/api/v1/status",
]


def test_the_bureau_view_covers_every_documented_route(kpi):
    assert set(kpi.get(None, "/openapi.json").json["paths"]) == set(BUREAU_VIEW)
    documented = {path.split("?")[0] for path in BUREAU_CALLS}
    assert documented == {path for path, seen in BUREAU_VIEW.items() if not seen.startswith("refused")}


def bureaus_named(answer, catalog) -> set[str]:
    """Every bureau an answer speaks of: in a `bureau` field, or as the owner of an action it names."""
    owners = {action.id: action.bureau for action in catalog.actions}
    found = set()

    def walk(node, key=None):
        if isinstance(node, dict):
            for name, value in node.items():
                walk(value, name)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str):
            if key == "bureau":
                found.add(node)
            if node in owners:
                found.add(owners[node])

    walk(answer)
    return found


def test_a_bureau_token_reads_its_own_bureaus_figures_and_the_city_wide_ones_only(
    first_quarter_reports, intake
):
    kpi, catalog = first_quarter_reports, default_catalog()
    # A target for every bureau with an output metric, so that there are rows judged behind plan.
    for bureau in catalog.bureaus:
        judged = [(a.id, m.id) for a in catalog.actions_for(bureau.id) for m in a.metrics if m.judged]
        if judged:
            intake.target(2022, *judged[0], 400)
    assert kpi.sync().ok

    for bureau in ("police", "health"):
        for path in BUREAU_CALLS:
            answer = kpi.json(bureau, path.format(bureau=bureau))
            assert bureaus_named(answer, catalog) <= {bureau}, (bureau, path)
        compliance = kpi.json(bureau, "/api/v1/compliance?year=2022&quarter=1")
        assert [row["bureau"] for row in compliance["bureaus"]] == [bureau]
        # The city-wide figures stay: 3 of the 6 bureaus submitted, 2 on time.
        assert (compliance["expected"], compliance["submitted"], compliance["on_time"]) == (6, 3, 2)
        progress = kpi.json(bureau, "/api/v1/progress?year=2022&quarter=1")
        assert {row["action"] for row in progress["actions"]} == {a.id for a in catalog.actions_for(bureau)}
        assert [row["bureau"] for row in progress["bureaus"]] == [bureau]
        other = kpi.get(bureau, "/api/v1/progress?bureau=social")
        assert other.status_code == 403 and other.content_type == "application/problem+json"
        assert f"bureau={bureau}" in other.json["detail"]

    # Every other role reads every bureau, as before.
    for who in ("admin", "coordinator", "viewer", "service", "statistics"):
        assert bureaus_named(kpi.json(who, "/api/v1/compliance"), catalog) == set(BUREAUS), who
        assert bureaus_named(kpi.json(who, "/api/v1/progress"), catalog) == set(BUREAUS), who
