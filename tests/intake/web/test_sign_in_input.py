"""Sign-in input that no column or header can hold is refused as such, never a server error."""

from __future__ import annotations

from sqlalchemy import func, select

from services.intake.models import SignInFailure
from tests.intake.web.conftest import PASSWORD, field_errors


def test_a_user_name_that_lower_case_makes_too_long_is_refused_beside_the_input(browser, web_app):
    browser.get("/sign-in")
    refused = browser.post(
        "/sign-in", {"username": "İ" * 31, "password": PASSWORD}
    )  # 62 characters in lower case
    assert refused.status_code == 422
    assert field_errors(refused) == {"username": ["帳號最多 60 字，請確認。"]}
    with web_app.extensions["database"].transaction() as session:
        assert session.scalar(select(func.count()).select_from(SignInFailure)) == 0


def test_a_line_break_in_next_leads_home_and_never_into_a_header(browser):
    injected = "/quarters\r\nSet-Cookie: stolen=1"
    page = browser.get("/sign-in?next=/quarters%0D%0ASet-Cookie:%20stolen=1")
    assert page.status_code == 200
    assert 'name="next" value=""' in page.get_data(as_text=True)
    signed = browser.post("/sign-in", {"username": "police", "password": PASSWORD, "next": injected})
    assert signed.status_code == 303
    assert signed.headers["Location"] == "/quarters"
    assert "stolen" not in str(signed.headers)


def test_next_with_other_characters_is_sent_percent_encoded(browser):
    browser.get("/sign-in")
    signed = browser.post(
        "/sign-in", {"username": "police", "password": PASSWORD, "next": "/quarters?說明=1"}
    )
    assert signed.headers["Location"] == "/quarters?%E8%AA%AA%E6%98%8E=1"
