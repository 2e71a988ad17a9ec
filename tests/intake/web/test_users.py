"""Users of the web pages are created by an admin, through the CLI or the API, with hashed passwords."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from services.intake import create_app
from services.intake.models import User
from tests.helpers.processes import ROOT, run_cli
from tests.intake.web.conftest import Browser, text_of, web_config

NEW_USER = {
    "username": "Social.Lin",
    "name": "林社工",
    "role": "bureau",
    "bureau": "social",
    "password": "社會局的長密碼 2022",
}


def stored_user(app, username) -> User:
    with app.extensions["database"].transaction() as session:
        return session.scalar(select(User).where(User.username == username))


def test_an_admin_creates_a_user_through_the_api(api):
    created = api.post("admin", "/api/v1/users", json=NEW_USER)
    assert created.status_code == 201
    assert created.json["username"] == "social.lin"
    assert created.json["bureau"] == "social"
    assert created.json["created_by"] == "admin"
    assert "password" not in created.json and "password_hash" not in created.json
    listing = api.get("admin", "/api/v1/users").json
    assert [u["username"] for u in listing] == ["social.lin"]
    assert all("password_hash" not in u for u in listing)


def test_the_password_is_stored_only_as_an_argon2id_hash(api):
    api.post("admin", "/api/v1/users", json=NEW_USER)
    user = stored_user(api.app, "social.lin")
    assert user.password_hash.startswith("$argon2id$")
    assert NEW_USER["password"] not in user.password_hash
    assert PasswordHasher().verify(user.password_hash, NEW_USER["password"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bureau": None}, "bureau"),  # a bureau user needs a bureau
        ({"bureau": "fire"}, "bureau"),  # not a bureau of the plan
        ({"role": "viewer"}, "bureau"),  # only bureau users have one
        ({"role": "service"}, "role"),  # services use tokens, not sign-ins
        ({"password": "short"}, "password"),
        ({"username": "a b"}, "username"),
    ],
)
def test_users_that_cannot_exist_are_refused(api, change, field):
    refused = api.post("admin", "/api/v1/users", json={**NEW_USER, **change})
    assert refused.status_code == 422
    errors = refused.json["errors"]
    assert field in errors.get("json", errors)
    assert api.get("admin", "/api/v1/users").json == []


def test_a_taken_user_name_is_a_conflict_whatever_its_case(api):
    api.post("admin", "/api/v1/users", json=NEW_USER)
    again = api.post("admin", "/api/v1/users", json={**NEW_USER, "username": "SOCIAL.LIN"})
    assert again.status_code == 409
    assert again.content_type == "application/problem+json"


def test_only_admins_manage_users(api):
    for who in ("coordinator", "police", "viewer", "service"):
        assert api.post(who, "/api/v1/users", json=NEW_USER).status_code == 403
        assert api.get(who, "/api/v1/users").status_code == 403


def test_a_user_created_through_the_api_signs_in(api, intake_db_url, clock):
    api.post("admin", "/api/v1/users", json=NEW_USER)
    app = create_app(web_config(intake_db_url, clock))
    try:
        browser = Browser(app)
        assert browser.sign_in("social.lin", NEW_USER["password"]).headers["Location"] == "/quarters"
        assert "社會局" in text_of(browser.get("/quarters"))
    finally:
        app.extensions["database"].dispose()


def test_the_cli_creates_a_user_with_a_password_option_or_prompt(intake_db_url, tmp_path, intake_app):
    env = {"DATABASE_URL": intake_db_url, "DGBV_VAR_DIR": str(tmp_path)}
    run_cli(
        [
            "services.intake",
            "create-user",
            "--username",
            "police.chen",
            "--role",
            "bureau",
            "--bureau",
            "police",
            "--name",
            "陳警員",
            "--password",
            "a long enough password",
        ],
        env,
    )
    user = stored_user(intake_app, "police.chen")
    assert (user.role, user.bureau, user.name, user.created_by) == ("bureau", "police", "陳警員", "cli")
    assert PasswordHasher().verify(user.password_hash, "a long enough password")

    # Without --password the CLI prompts twice, hiding what is typed.
    prompted = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.intake",
            "create-user",
            "--username",
            "wang",
            "--role",
            "coordinator",
        ],
        input="another long password\nanother long password\n",
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert prompted.returncode == 0, prompted.stderr
    assert "another long password" not in prompted.stdout + prompted.stderr
    assert stored_user(intake_app, "wang").role == "coordinator"


def test_the_cli_explains_why_a_user_cannot_be_created(intake_db_url, tmp_path):
    env = {"DATABASE_URL": intake_db_url, "DGBV_VAR_DIR": str(tmp_path)}
    with pytest.raises(RuntimeError, match="bureau"):
        run_cli(
            [
                "services.intake",
                "create-user",
                "--username",
                "x.y",
                "--role",
                "bureau",
                "--password",
                "long enough pw",
            ],
            env,
        )
    with pytest.raises(RuntimeError, match="password"):
        run_cli(
            [
                "services.intake",
                "create-user",
                "--username",
                "x.y",
                "--role",
                "viewer",
                "--password",
                "short",
            ],
            env,
        )


def test_an_admin_deactivates_a_user_and_resets_a_password(api, intake_db_url, clock):
    api.post("admin", "/api/v1/users", json=NEW_USER)
    app = create_app(web_config(intake_db_url, clock))
    try:
        signed = Browser(app)
        assert signed.sign_in("social.lin", NEW_USER["password"]).status_code == 303

        reset = api.request(
            "admin", "PATCH", "/api/v1/users/Social.Lin", json={"password": "a new long password"}
        )
        assert reset.status_code == 200
        assert signed.get("/quarters").status_code == 303  # the old session has ended
        assert Browser(app).sign_in("social.lin", NEW_USER["password"]).status_code == 401
        assert Browser(app).sign_in("social.lin", "a new long password").status_code == 303

        off = api.request(
            "admin", "PATCH", "/api/v1/users/social.lin", json={"active": False, "name": "林社工（離職）"}
        )
        assert (off.json["active"], off.json["name"]) == (False, "林社工（離職）")
        assert Browser(app).sign_in("social.lin", "a new long password").status_code == 401
    finally:
        app.extensions["database"].dispose()
    assert api.request("admin", "PATCH", "/api/v1/users/nobody", json={"active": False}).status_code == 404
    assert (
        api.request("admin", "PATCH", "/api/v1/users/social.lin", json={"password": "short"}).status_code
        == 422
    )
    assert (
        api.request("admin", "PATCH", "/api/v1/users/social.lin", json={"role": "admin"}).status_code == 422
    )
