"""Schemathesis against kpi's own OpenAPI document, as each role: no 5xx, every answer as documented."""

from __future__ import annotations

import pytest

from tests.helpers.fuzz import fuzz_api

ROLES = ["admin", "coordinator", "statistics", "viewer", "service", "police"]


@pytest.mark.parametrize("who", ROLES)
def test_generated_requests_get_documented_answers_and_never_a_server_error(kpi, who):
    kpi.sync()
    failures = fuzz_api(kpi.app, {"Authorization": f"Bearer {kpi.secrets[who]}"})
    assert not failures, "\n\n".join(failures)
