"""Signing in and out: signed-cookie sessions, CSRF on every form, and slowed-down guessing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from services.intake import create_app
from services.intake.config import SETTINGS
from services.intake.models import SignInFailure, User
from services.intake.users import hash_password
from shared.settings import SettingsError, load_one
from tests.intake.web.conftest import PASSWORD, Q2, Browser, text_of, unlabelled_inputs, web_config


def test_the_sign_in_page_labels_its_inputs_in_chinese(browser):
    page = browser.get("/sign-in")
    assert page.status_code == 200
    assert '<html lang="zh-Hant">' in text_of(page)
    assert "帳號" in text_of(page) and "密碼" in text_of(page)
    assert unlabelled_inputs(page) == []
    assert 'name="csrf_token"' in text_of(page)


def test_a_bureau_user_signs_in_and_lands_on_my_quarters(browser):
    signed = browser.sign_in("police")
    assert signed.status_code == 303
    assert signed.headers["Location"] == "/quarters"
    page = browser.get("/quarters")
    assert page.status_code == 200
    assert "陳警員（警察局）" in text_of(page)
    assert "已登入" in text_of(page)


def test_a_coordinator_lands_on_the_overview(browser):
    assert browser.sign_in("coordinator").headers["Location"] == "/overview"
    assert browser.get("/").headers["Location"] == "/overview"


def test_the_session_cookie_is_signed_httponly_and_samesite_lax(browser):
    cookie = browser.sign_in("police").headers["Set-Cookie"]
    assert cookie.startswith("dgbv_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert PASSWORD not in cookie


def test_the_session_cookie_is_secure_unless_configured_otherwise(intake_db_url, clock, web_app):
    app = create_app(web_config(intake_db_url, clock, SESSION_COOKIE_SECURE=True))
    try:
        cookie = Browser(app).sign_in("police").headers["Set-Cookie"]
    finally:
        app.extensions["database"].dispose()
    assert "; Secure" in cookie
    assert load_one(SETTINGS, "SESSION_COOKIE_SECURE", environ={}) is True
    for off in ("false", "0", "no", "OFF"):
        assert load_one(SETTINGS, "SESSION_COOKIE_SECURE", environ={"SESSION_COOKIE_SECURE": off}) is False
    with pytest.raises(SettingsError, match="SESSION_COOKIE_SECURE='maybe': must be true or false"):
        load_one(SETTINGS, "SESSION_COOKIE_SECURE", environ={"SESSION_COOKIE_SECURE": "maybe"})


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(browser):
    wrong = browser.sign_in("police", "not the password")
    assert wrong.status_code == 401
    assert "帳號或密碼不正確" in text_of(wrong)
    unknown = browser.sign_in("nobody", "not the password")
    assert unknown.status_code == 401
    assert "帳號或密碼不正確" in text_of(unknown)
    assert browser.get("/quarters").status_code == 303


def test_blank_fields_are_named_beside_the_inputs_and_the_user_name_is_kept(browser):
    browser.get("/sign-in")
    page = browser.post("/sign-in", {"username": "police", "password": ""})
    assert page.status_code == 422
    assert "請輸入密碼" in text_of(page)
    assert 'value="police"' in text_of(page)
    assert 'aria-invalid="true"' in text_of(page)


def test_a_form_without_its_csrf_token_is_refused(browser):
    browser.get("/sign-in")
    refused = browser.post("/sign-in", {"username": "police", "password": PASSWORD}, csrf=False)
    assert refused.status_code == 400
    assert "表單已過期或無效" in text_of(refused)
    forged = browser.post(
        "/sign-in", {"username": "police", "password": PASSWORD, "csrf_token": "forged"}, csrf=False
    )
    assert forged.status_code == 400


def test_every_form_of_a_signed_in_user_needs_the_token_too(signed_in, web_app):
    police = signed_in("police")
    refused = police.post(Q2, {"intent": "save", "narrative": "x"}, csrf=False)
    assert refused.status_code == 400
    assert police.post("/sign-out", csrf=False).status_code == 400
    assert police.get("/quarters").status_code == 200  # still signed in


def test_the_api_takes_bearer_tokens_without_csrf(api):
    assert api.get("admin", "/api/v1/users").status_code == 200


def test_repeated_failures_are_slowed_down_then_forgiven(browser, clock):
    for _ in range(4):
        assert browser.sign_in("police", "wrong").status_code == 401
    fifth = browser.sign_in("police", "wrong")
    assert fifth.status_code == 429
    assert fifth.headers["Retry-After"] == "30"
    # Even the right password waits now.
    waiting = browser.sign_in("police")
    assert waiting.status_code == 429
    assert "30 秒後再試" in text_of(waiting)
    clock.advance(seconds=31)
    assert browser.sign_in("police", "wrong").headers["Retry-After"] == "60"  # each failure doubles
    clock.advance(seconds=61)
    assert browser.sign_in("police").status_code == 303


def test_the_failures_are_kept_in_the_database_so_every_worker_sees_them(intake_db_url, clock, web_app):
    other_worker = create_app(web_config(intake_db_url, clock))
    try:
        for _ in range(5):
            Browser(web_app).sign_in("police", "wrong")
        assert Browser(other_worker).sign_in("police").status_code == 429
    finally:
        other_worker.extensions["database"].dispose()
    with web_app.extensions["database"].transaction() as session:
        record = session.scalar(select(SignInFailure).where(SignInFailure.username == "police"))
        assert record.failures == 5


def test_a_successful_sign_in_clears_the_count(browser, web_app):
    for _ in range(3):
        browser.sign_in("police", "wrong")
    assert browser.sign_in("police").status_code == 303
    with web_app.extensions["database"].transaction() as session:
        assert session.scalar(select(SignInFailure)) is None


def test_user_names_are_case_insensitive(browser):
    assert browser.sign_in("  POLICE ").status_code == 303


def test_signing_out_ends_the_session(signed_in):
    police = signed_in("police")
    assert police.sign_out().headers["Location"] == "/sign-in"
    assert police.get("/quarters").status_code == 303
    assert "已登出" in text_of(police.get("/sign-in"))


def test_pages_send_visitors_to_sign_in_and_back(browser):
    sent = browser.get(Q2)
    assert sent.status_code == 303
    assert sent.headers["Location"] == "/sign-in?next=/reports/police/2022/2"
    browser.get(sent.headers["Location"])
    signed = browser.post("/sign-in", {"username": "police", "password": PASSWORD, "next": Q2})
    assert signed.headers["Location"] == Q2


def test_next_never_leads_to_another_site(browser):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        browser.get("/sign-in")
        signed = browser.post("/sign-in", {"username": "police", "password": PASSWORD, "next": target})
        assert signed.headers["Location"] == "/quarters", target
        browser.sign_out()


def test_a_changed_password_ends_older_sessions(signed_in, web_app):
    police = signed_in("police")
    with web_app.extensions["database"].transaction() as session:
        user = session.scalar(select(User).where(User.username == "police"))
        user.password_hash = hash_password("a brand new password")
    assert police.get("/quarters").status_code == 303


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(signed_in, web_app):
    police = signed_in("police")
    with web_app.extensions["database"].transaction() as session:
        session.scalar(select(User).where(User.username == "police")).active = False
    assert police.get("/quarters").status_code == 303
    assert Browser(web_app).sign_in("police").status_code == 401


def test_a_tampered_cookie_is_not_a_session(signed_in, web_app):
    police = signed_in("police")
    cookie = police.client.get_cookie("dgbv_session")
    payload, _, signature = cookie.value.rpartition(".")
    police.client.set_cookie(
        "dgbv_session", payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    )
    assert police.get("/quarters").status_code == 303


def test_without_a_secret_key_the_pages_are_unavailable_but_the_api_works(intake_db_url, clock, api):
    app = create_app(web_config(intake_db_url, clock, SECRET_KEY=None))
    try:
        page = app.test_client().get("/sign-in")
        assert page.status_code == 503
        assert "SECRET_KEY" in text_of(page)
        response = app.test_client().get(
            "/api/v1/catalog", headers={"Authorization": f"Bearer {api.secrets['viewer']}"}
        )
        assert response.status_code == 200
    finally:
        app.extensions["database"].dispose()


def test_pages_are_served_under_the_content_security_policy(browser):
    page = browser.get("/sign-in")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    html = text_of(page)
    assert "<script" not in html
    assert not re.search(r"\sstyle=", html)
    assert browser.get("/static/style.css").status_code == 200
