"""Every notify route from its OpenAPI document, against every role and every kind of bad token."""

from __future__ import annotations

import pytest

from tests.helpers.access import api_routes, check_route
from tests.helpers.fuzz import fuzz_api
from tests.notify.world import sqlite_only

EVERYONE = {"admin", "coordinator", "statistics", "viewer", "service", "police"}
MANAGERS = {"admin", "coordinator"}
EXAMPLES = {"notification_id": "1", "silence_id": "1"}


@sqlite_only
def test_every_route_admits_only_admins_and_coordinators(world, notify):
    revoked = world.call("admin", "POST", "/api/v1/tokens", json={"name": "old", "role": "admin"})
    world.call("admin", "POST", f"/api/v1/tokens/{revoked['id']}/revoke")

    def call(who, method, path):
        return notify.api(who, method, path, json={}).status_code

    routes = api_routes(notify.api(None, "GET", "/openapi.json").json, EXAMPLES)
    assert routes
    problems = {}
    for method, path in routes:
        found = check_route(
            call, method, path, MANAGERS, EVERYONE, [revoked["token"], "garbage", "dgbv_" + "y" * 43]
        )
        if found:
            problems[f"{method} {path}"] = found
    assert not problems, problems


@sqlite_only
@pytest.mark.parametrize("who", sorted(EVERYONE))
def test_generated_requests_get_documented_answers_and_never_a_server_error(notify, who):
    failures = fuzz_api(
        notify.app, {"Authorization": f"Bearer {notify.secrets[who]}"}, examples_per_operation=10
    )
    assert not failures, "\n\n".join(failures)
