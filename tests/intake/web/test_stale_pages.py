"""Pages post the revision they show: a stale page is told what changed since and loses nothing;
coordinators accept exactly what they read, and reopen a locked quarter from the pages."""

from __future__ import annotations

import re

from shared.periods import Quarter
from tests.intake.web.conftest import (
    Q2,
    field_errors,
    file_report,
    full_form,
    input_value,
    stored_report,
    text_of,
)

SESSIONS = "value-1-police-1-sessions"
NOTE = "note-1-police-1"
Q1 = "/reports/police/2022/1"


def revision_on(response) -> str:
    """The revision the page's forms carry."""
    return re.search(r'name="revision" value="(\d+)"', text_of(response)).group(1)


def missed(response) -> str:
    """The page's list of what changed since it was opened, as text."""
    section = re.search(r'<section class="missed".*?</section>', text_of(response), re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section.group(0))) if section else ""


def test_a_save_from_a_stale_tab_keeps_what_was_typed_and_shows_what_changed(signed_in, web_app):
    police = signed_in("police")
    police.post(Q2, full_form("police", 1, intent="save"))
    old_tab = revision_on(police.get(Q2))
    police.post(Q2, full_form("police", 1, intent="save", **{SESSIONS: "9"}))  # the other tab

    stale = police.post(Q2, full_form("police", 1, intent="save", revision=old_tab, **{NOTE: "B 的備註"}))
    assert stale.status_code == 409
    assert "您開啟這個頁面之後，報告已由第 1 版更新為第 2 版" in text_of(stale)
    assert input_value(stale, NOTE) == "B 的備註"  # nothing typed is lost
    assert input_value(stale, SESSIONS) == "1"
    assert "1.police.1 辦理場次 1 9" in missed(stale)
    assert "第 2 版：儲存草稿" in missed(stale)
    assert stored_report(web_app).actions["1.police.1"]["note"] is None  # nothing was saved
    assert stored_report(web_app).actions["1.police.1"]["values"]["sessions"] == 9

    # Having seen the change, the clerk saves again from this page: it now carries revision 2.
    assert revision_on(stale) == "2"
    again = police.post(Q2, full_form("police", 9, intent="save", revision="2", **{NOTE: "B 的備註"}))
    assert again.status_code == 303
    report = stored_report(web_app)
    assert (report.revision, report.actions["1.police.1"]["note"]) == (3, "B 的備註")


def test_a_second_submit_from_a_stale_tab_is_told_the_report_is_already_submitted(signed_in, web_app):
    police = signed_in("police")
    police.post(Q2, full_form("police", 1, intent="save"))
    old_tab = revision_on(police.get(Q2))
    assert police.post(Q2, full_form("police", 1, intent="submit")).status_code == 303

    again = police.post(Q2, full_form("police", 1, intent="submit", revision=old_tab))
    assert again.status_code == 409
    html = text_of(again)
    assert "報告已送出，不需要再送出" in html
    assert "修正原因" not in str(field_errors(again))
    assert "第 2 版：送出" in missed(again)
    assert [r.event for r in stored_report(web_app).revisions] == ["created", "submitted"]


def test_a_page_without_its_revision_is_refused_without_saving(signed_in, web_app):
    police = signed_in("police")
    police.post(Q2, full_form("police", 1, intent="save"))
    form = full_form("police", 5, intent="save")
    refused = police.client.post(Q2, data={**form, "csrf_token": police.csrf_token()})
    assert refused.status_code == 422
    assert "這個頁面缺少版本資訊，請重新整理頁面後再操作。" in text_of(refused)
    assert stored_report(web_app).revision == 1


def test_a_coordinator_accepts_exactly_the_revision_on_screen(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 4)
    coordinator = signed_in("coordinator")
    on_screen = revision_on(coordinator.get(Q2))
    assert f"核定第 {on_screen} 版報告" in text_of(coordinator.page)
    police = signed_in("police")
    amended = police.post(Q2, full_form("police", 0, intent="amend", reason="全部歸零"))
    assert amended.status_code == 303

    stale = coordinator.post(Q2 + "/accept", {"revision": on_screen})
    assert stale.status_code == 409
    assert "報告已由第 2 版更新為第 3 版" in text_of(stale)
    assert "第 3 版：送出修正" in missed(stale)
    assert "核定第 3 版報告" in text_of(stale)
    assert stored_report(web_app).status == "submitted"

    assert coordinator.post(Q2 + "/accept", {"revision": "3"}).status_code == 303
    report = stored_report(web_app)
    assert (report.status, report.revision) == ("accepted", 4)


def test_a_stale_return_keeps_the_comment_typed(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 4)
    coordinator = signed_in("coordinator")
    on_screen = revision_on(coordinator.get(Q2))
    signed_in("police").post(Q2, full_form("police", 0, intent="amend", reason="更正"))
    stale = coordinator.post(Q2 + "/return", {"revision": on_screen, "comment": "請補附件"})
    assert stale.status_code == 409
    assert input_value(stale, "comment") == "請補附件"
    assert stored_report(web_app).status == "submitted"


def test_a_coordinator_reopens_a_locked_quarter_from_the_overview(signed_in, web_app):
    overview = signed_in("coordinator").get("/overview?period=2022Q1")
    html = text_of(overview)
    assert html.count('name="reason"') == 6  # every bureau is locked: nothing was reported
    coordinator = signed_in("coordinator")
    coordinator.get("/overview?period=2022Q1")

    blank = coordinator.post(Q1 + "/reopen", {"revision": "0", "back": "overview", "reason": "  "})
    assert blank.status_code == 422
    assert field_errors(blank) == {"reason": ["請填寫重新開放的原因（機關會看到）。"]}
    assert stored_report(web_app, quarter=Quarter(2022, 1)) is None

    done = coordinator.post(Q1 + "/reopen", {"revision": "0", "back": "overview", "reason": "補登第1季"})
    assert done.status_code == 303
    assert done.headers["Location"] == "/overview?period=2022Q1"
    after = text_of(coordinator.get("/overview?period=2022Q1"))
    assert "已重新開放警察局民國111年第1季的填報至111年8月4日" in after
    assert "並以電子郵件通知機關" in after
    assert after.count('name="reason"') == 5
    report = stored_report(web_app, quarter=Quarter(2022, 1))
    assert (report.revisions[-1].event, report.revisions[-1].reason) == ("reopened", "補登第1季")

    police = signed_in("police")
    saved = police.post(Q1, full_form("police", 1, intent="save"))
    assert saved.status_code == 303


def test_the_report_page_of_a_locked_quarter_offers_reopening_to_coordinators_only(signed_in, web_app):
    page = text_of(signed_in("coordinator").get(Q1))
    assert "重新開放填報" in page and "機關可再填報 30 天" in page
    assert "重新開放原因" not in text_of(signed_in("viewer").get(Q1))
    assert "重新開放原因" not in text_of(signed_in("viewer").get("/overview?period=2022Q1"))
    coordinator = signed_in("coordinator")
    done = coordinator.post(Q1 + "/reopen", {"reason": "機關申請補登"})
    assert done.status_code == 303
    assert done.headers["Location"] == Q1
    assert "重新開放填報" not in text_of(coordinator.get(Q1))  # open again: nothing to reopen
