"""Signing in and out: server-side sessions in a signed cookie, CSRF on every form, and guessing that
costs the guesser, not the server."""

from __future__ import annotations

import re

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from services.intake import create_app
from services.intake.config import SETTINGS
from services.intake.models import SignInFailure, User
from shared.settings import SettingsError, load_one
from tests.intake.web.conftest import (
    PASSWORD,
    Q2,
    Browser,
    full_form,
    stored_report,
    text_of,
    unlabelled_inputs,
    web_config,
)

ATTACKER, VICTIMS_OFFICE = "198.51.100.66", "203.0.113.10"


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
        assert (record.client, record.failures) == ("127.0.0.1", 5)


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


def test_a_changed_password_ends_older_sessions(signed_in, api):
    police = signed_in("police")
    changed = api.patch("admin", "/api/v1/users/police", json={"password": "a new long password"})
    assert changed.status_code == 200
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


# -- sessions end on the server: a copied cookie opens nothing afterwards -------------------------
class Thief(Browser):
    """Another client replaying a copy of a person's cookie, as it was captured, on every request."""

    def __init__(self, person: Browser):
        super().__init__(person.app, address=ATTACKER)
        person.get("/quarters")  # captured as the person works: with the pages' CSRF secret in it
        self.cookie = person.client.get_cookie("dgbv_session").value

    def get(self, path, **kwargs):
        self.client.set_cookie("dgbv_session", self.cookie)
        return super().get(path, **kwargs)

    def post(self, path, data=None, **kwargs):
        self.client.set_cookie("dgbv_session", self.cookie)
        return super().post(path, data, **kwargs)


def _replay_is_refused(thief: Thief, csrf_token: str, app) -> None:
    """The copied cookie opens no page and saves no report, even with the form's CSRF token."""
    assert thief.get("/quarters").status_code == 303
    assert thief.get(Q2).headers["Location"].startswith("/sign-in")
    form = {**full_form("police"), "intent": "save", "csrf_token": csrf_token, "revision": "0"}
    saved = thief.post(Q2, form, csrf=False)
    assert saved.status_code == 303 and saved.headers["Location"].startswith("/sign-in")
    assert stored_report(app) is None


def test_a_cookie_copied_before_signing_out_opens_nothing_afterwards(signed_in, web_app):
    police = signed_in("police")
    thief = Thief(police)
    assert thief.get("/quarters").status_code == 200  # the copy works while the session lasts
    token = thief.csrf_token()
    police.sign_out()
    _replay_is_refused(thief, token, web_app)


def test_deactivating_and_reactivating_a_user_revives_no_session(signed_in, web_app, api):
    police = signed_in("police")
    thief = Thief(police)
    token = thief.csrf_token()
    assert api.patch("admin", "/api/v1/users/police", json={"active": False}).status_code == 200
    assert api.patch("admin", "/api/v1/users/police", json={"active": True}).status_code == 200
    _replay_is_refused(thief, token, web_app)
    assert Browser(web_app).sign_in("police").status_code == 303  # signing in again works


def test_a_new_password_ends_every_session_of_the_user(signed_in, web_app, api):
    on_the_desk, on_the_phone = signed_in("police"), signed_in("police")
    thieves = [Thief(on_the_desk), Thief(on_the_phone)]
    tokens = [thief.csrf_token() for thief in thieves]
    assert (
        api.patch("admin", "/api/v1/users/police", json={"password": "a new long password"}).status_code
        == 200
    )
    for thief, token in zip(thieves, tokens, strict=True):
        _replay_is_refused(thief, token, web_app)


def test_signing_out_ends_every_session_of_the_user(signed_in):
    # A session left open on a shared office computer ends when its user signs out elsewhere.
    on_the_desk, on_the_phone, colleague = signed_in("police"), signed_in("police"), signed_in("education")
    on_the_desk.sign_out()
    assert on_the_phone.get("/quarters").status_code == 303
    assert colleague.get("/quarters").status_code == 200


def test_a_session_ends_session_hours_after_signing_in_however_busy(signed_in, clock):
    police = signed_in("police")
    clock.advance(hours=7, minutes=59)
    assert police.get("/quarters").status_code == 200
    clock.advance(minutes=2)  # 8 h (SESSION_HOURS) since signing in, though the cookie was renewed
    assert police.get("/quarters").status_code == 303


def test_the_session_table_holds_no_cookie_secret(signed_in, web_app):
    police = signed_in("police")
    cookie = police.client.get_cookie("dgbv_session").value
    secret = web_app.session_interface.get_signing_serializer(web_app).loads(cookie)["sid"]
    with web_app.extensions["database"].engine.connect() as connection:
        rows = [str(row) for row in connection.exec_driver_sql("SELECT * FROM user_sessions")]
    assert len(rows) == 1 and secret not in rows[0]


# -- guessing: held back per name and address, per address, and for the whole service -------------
def verifications() -> float:
    """argon2 checks computed so far in this process (the intake metric)."""
    return sum(
        REGISTRY.get_sample_value("dgbv_intake_password_verifications_total", {"name": name}) or 0.0
        for name in ("known", "unknown")
    )


def test_spraying_guesses_across_many_names_from_one_address_is_refused(web_app):
    sprayer = Browser(web_app, address=ATTACKER)
    before = verifications()
    statuses = [
        sprayer.sign_in(f"user{name:02d}", guess).status_code
        for guess in ("password1", "123456", "qwerty", "letmein")
        for name in range(43)
    ]
    assert statuses[:30] == [401] * 30  # SIGN_IN_ADDRESS_FAILURES_PER_HOUR: a burst of 30
    assert set(statuses[30:]) == {429}
    assert verifications() - before == 30  # a refused guess costs no hashing
    refused = sprayer.sign_in("user99", "password2")
    assert int(refused.headers["Retry-After"]) == 120  # then one more every 2 minutes
    assert "登入失敗次數過多" in text_of(refused)
    assert Browser(web_app, address=VICTIMS_OFFICE).sign_in("police").status_code == 303


def test_the_address_is_the_peer_unless_proxies_are_trusted(intake_db_url, clock, web_app):
    """Without TRUSTED_PROXIES, a forged X-Forwarded-For changes nothing; with it, the proxy's
    word is taken for the client's address."""
    sprayer = Browser(web_app, address=ATTACKER)
    for attempt in range(31):
        sprayer.client.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.0.{attempt}.1"
        last = sprayer.sign_in(f"user{attempt}", "guess")
    assert last.status_code == 429
    behind_a_proxy = create_app(web_config(intake_db_url, clock, TRUSTED_PROXIES=1))
    try:
        proxied = Browser(behind_a_proxy, address="127.0.0.1")  # the proxy
        proxied.client.environ_base["HTTP_X_FORWARDED_FOR"] = VICTIMS_OFFICE
        assert proxied.sign_in("police").status_code == 303
        proxied.sign_out()
        proxied.client.environ_base["HTTP_X_FORWARDED_FOR"] = ATTACKER
        assert proxied.sign_in("police").status_code == 429  # the attacker, named by the proxy
    finally:
        behind_a_proxy.extensions["database"].dispose()
    assert load_one(SETTINGS, "TRUSTED_PROXIES", environ={}) == 0


def test_a_victim_signs_in_from_elsewhere_while_an_attacker_hammers_the_account(web_app, clock):
    attacker = Browser(web_app, address=ATTACKER)
    for _ in range(12):
        attacker.sign_in("police", "guess")
        clock.advance(seconds=20)
    assert attacker.sign_in("police", "guess").status_code == 429
    assert (
        attacker.sign_in("police").status_code == 429
    )  # from the attacker's address, even the password waits
    victim = Browser(web_app, address=VICTIMS_OFFICE)
    assert victim.sign_in("police").status_code == 303
    assert victim.get("/quarters").status_code == 200


def test_an_unknown_name_costs_one_verification_like_a_known_one(browser):
    before = verifications()
    assert browser.sign_in("nobody", "a guess").status_code == 401
    assert browser.sign_in("police", "a guess").status_code == 401
    assert verifications() - before == 2


def test_a_throttled_attempt_computes_no_hash(browser):
    for _ in range(5):
        browser.sign_in("police", "wrong")
    before = verifications()
    for _ in range(20):
        assert browser.sign_in("police", "wrong").status_code == 429
    assert verifications() == before


def test_beyond_the_services_rate_of_verifications_sign_ins_wait_without_hashing(
    intake_db_url, clock, web_app
):
    app = create_app(web_config(intake_db_url, clock, SIGN_IN_VERIFICATIONS_PER_SECOND=0.2))  # 1 per 5 s
    try:
        first, second = Browser(app), Browser(app, address=VICTIMS_OFFICE)
        assert first.sign_in("education", "wrong").status_code == 401
        before = verifications()
        busy = second.sign_in("police")
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "5"
        assert "目前登入的人數過多" in text_of(busy)
        assert verifications() == before
        clock.advance(seconds=5)
        assert second.sign_in("police").status_code == 303
    finally:
        app.extensions["database"].dispose()


def test_when_every_verification_slot_is_taken_sign_ins_are_refused_at_once(browser, web_app):
    slots = web_app.extensions["sign_in_slots"]
    taken = 0
    while slots.acquire(blocking=False):  # as if that many checks were running in this process
        taken += 1
    try:
        before = verifications()
        busy = browser.sign_in("police")
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert verifications() == before
    finally:
        for _ in range(taken):
            slots.release()
    assert taken == web_app.config["SIGN_IN_CONCURRENT_VERIFICATIONS"] == 2
    assert browser.sign_in("police").status_code == 303
