"""Schemathesis against intake's own OpenAPI document, as each role: no 5xx, every answer as documented."""

from __future__ import annotations

import pytest

from tests.helpers.fuzz import fuzz_api
from tests.intake.conftest import ROLE_TOKENS


@pytest.mark.parametrize("who", sorted(ROLE_TOKENS))
def test_generated_requests_get_documented_answers_and_never_a_server_error(api, who):
    failures = fuzz_api(api.app, {"Authorization": f"Bearer {api.secrets[who]}"})
    assert not failures, "\n\n".join(failures)
