"""No secret is ever stored or kept: minted tokens, idempotent answers, tokens from the environment."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services.intake import create_app
from services.intake.config import SETTINGS
from shared.settings import SettingsError, load
from tests.helpers.processes import run_cli, run_command

STRONG_ADMIN = "dgbv_first-admin-token-0123456789abcdefXYZ"
NEW_ADMIN = "dgbv_second-admin-token-9876543210zyxwvuQRS"


def rows_as_text(app, *tables: str) -> str:
    """Every row of the tables, every column, as one text to search."""
    with app.extensions["database"].engine.connect() as connection:
        return "\n".join(
            str(tuple(row)) for table in tables for row in connection.execute(text(f"SELECT * FROM {table}"))
        )


def test_a_token_minted_with_an_idempotency_key_leaves_no_secret_behind(api, intake_app):
    body = {"name": "統計科", "role": "statistics"}
    minted = api.post("admin", "/api/v1/tokens", json=body, headers={"Idempotency-Key": "mint-1"})
    assert minted.status_code == 201
    secret = minted.json["token"]
    stored = rows_as_text(intake_app, "api_tokens", "idempotent_requests")
    assert "mint-1" in stored  # the answer is recorded...
    assert secret not in stored and secret.removeprefix("dgbv_") not in stored  # ...without the secret

    replay = api.post("admin", "/api/v1/tokens", json=body, headers={"Idempotency-Key": "mint-1"})
    assert replay.status_code == 409
    assert replay.content_type == "application/problem+json"
    assert replay.headers["Idempotent-Replayed"] == "true"
    token_id = minted.json["id"]
    assert f"revoke token {token_id}" in replay.json["detail"]
    assert secret not in replay.get_data(as_text=True)
    listed = api.get("admin", "/api/v1/tokens").json
    assert [token["name"] for token in listed].count("統計科") == 1  # the retry minted nothing
    assert api.get(secret, "/api/v1/cases").status_code == 200  # the first answer's token works


def test_idempotent_answers_expire_after_idempotency_hours_and_are_purged(api, intake_app, clock):
    def upload(key: str, ref: str):
        record = {
            "ref": ref,
            "date": "2021-06-01",
            "category": "secret_filming",
            "role": "suspect",
            "sex": "male",
            "age_band": "30-39",
        }
        return api.post(
            "statistics", "/api/v1/cases", json={"records": [record]}, headers={"Idempotency-Key": key}
        )

    first = upload("batch-1", "EXP-1")
    assert first.json["created"] == 1
    clock.advance(hours=23, minutes=59)
    replayed = upload("batch-1", "EXP-1")
    assert replayed.headers.get("Idempotent-Replayed") == "true" and replayed.json == first.json
    clock.advance(minutes=2)  # 24 h (IDEMPOTENCY_HOURS): the key is new again
    again = upload("batch-1", "EXP-1")
    assert "Idempotent-Replayed" not in again.headers and again.json["unchanged"] == 1
    clock.advance(hours=25)
    upload("batch-2", "EXP-2")  # storing an answer purges those kept long enough
    assert "batch-1" not in rows_as_text(intake_app, "idempotent_requests")
    assert load(SETTINGS, environ={})["IDEMPOTENCY_TTL"].total_seconds() == 24 * 3600


@pytest.mark.parametrize("variable", ["INTAKE_ADMIN_TOKEN", "INTAKE_SERVICE_TOKEN"])
@pytest.mark.parametrize("weak", ["x", "dgbv_" + "a" * 40, "dgbv_short-0123456789"])
def test_a_weak_token_in_the_environment_is_refused_without_repeating_it(variable, weak):
    with pytest.raises(SettingsError) as refused:
        load(SETTINGS, environ={variable: weak})
    assert f"{variable}: must be at least 32 characters, at least 10 of them different" in str(refused.value)
    assert weak not in str(refused.value)


def test_intake_refuses_to_start_with_a_weak_admin_token(intake_db_url, tmp_path):
    env = {"DATABASE_URL": intake_db_url, "INTAKE_ADMIN_TOKEN": "x", "DGBV_VAR_DIR": str(tmp_path)}
    for command in (["services.intake", "migrate"], ["services.intake", "serve"]):
        result = run_command(command, env)
        assert result.returncode != 0
        assert "cannot start: INTAKE_ADMIN_TOKEN: must be at least 32 characters" in result.stderr


def test_a_changed_token_in_the_environment_retires_the_one_it_held_before(intake_db_url, tmp_path, clock):
    env = {"DATABASE_URL": intake_db_url, "DGBV_VAR_DIR": str(tmp_path)}
    run_cli(["services.intake", "migrate"], {**env, "INTAKE_ADMIN_TOKEN": STRONG_ADMIN})
    app = create_app({"DATABASE_URL": intake_db_url, "CLOCK": clock, "TESTING": True})
    client = app.test_client()

    def status(secret: str) -> int:
        return client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"}).status_code

    try:
        assert status(STRONG_ADMIN) == 200
        run_cli(["services.intake", "migrate"], {**env, "INTAKE_ADMIN_TOKEN": NEW_ADMIN})
        assert (status(STRONG_ADMIN), status(NEW_ADMIN)) == (401, 200)
        run_cli(["services.intake", "migrate"], {**env, "INTAKE_ADMIN_TOKEN": STRONG_ADMIN})
        assert (status(STRONG_ADMIN), status(NEW_ADMIN)) == (401, 401)  # a retired token stays retired
        run_cli(["services.intake", "migrate"], {**env, "INTAKE_ADMIN_TOKEN": NEW_ADMIN + "2"})
        run_cli(["services.intake", "migrate"], env)  # no longer handed over: retired too
        assert status(NEW_ADMIN + "2") == 401
        stored = rows_as_text(app, "api_tokens")
        assert STRONG_ADMIN not in stored and NEW_ADMIN not in stored
    finally:
        app.extensions["database"].dispose()
