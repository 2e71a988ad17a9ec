"""Coordinators: every bureau's status for a quarter, any report, accepting and returning."""

from __future__ import annotations

import re

from shared.periods import Quarter
from tests.intake.web.conftest import (
    Q2,
    field_errors,
    file_report,
    full_form,
    stored_report,
    text_of,
    unlabelled_inputs,
)


def overview_rows(response) -> dict[str, str]:
    html = text_of(response)
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        bureau = re.search(r'data-label="機關">([^<]+)<', row)
        if bureau:
            found[bureau.group(1)] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
    return found


def test_the_overview_shows_every_bureau_for_the_quarter_being_reported(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 2)
    file_report(web_app, "education", Quarter(2022, 2), 2, submit=False)
    page = signed_in("coordinator").get("/overview")
    assert page.status_code == 200
    assert "民國111年第2季（填報期限 111年7月10日）" in text_of(page)
    found = overview_rows(page)
    assert list(found) == ["警察局", "教育局", "衛生局", "勞工局", "新聞局", "社會局"]
    assert found["警察局"].startswith("警察局 已送出 如期送出 111年7月5日 10:00")
    assert found["教育局"].startswith("教育局 草稿 剩餘 5 天")
    assert found["衛生局"].startswith("衛生局 未填報 剩餘 5 天 —")
    assert "已送出 1" in text_of(page) and "未填報 4" in text_of(page)
    assert unlabelled_inputs(page) == []


def test_another_quarter_is_chosen_from_the_list(signed_in, clock):
    coordinator = signed_in("coordinator")
    page = coordinator.get("/overview?period=2022Q1")
    assert "民國111年第1季（填報期限 111年4月10日）" in text_of(page)
    assert '<option value="2022Q1" selected>民國111年第1季</option>' in text_of(page)
    assert "已逾期 86 天" in text_of(page)
    for wrong in ("2019Q1", "nonsense", "2022Q9"):
        missing = coordinator.get(f"/overview?period={wrong}")
        assert missing.status_code == 404
        assert "沒有這個期別" in text_of(missing)


def test_viewers_see_the_overview_but_bureaus_do_not(signed_in):
    assert signed_in("viewer").get("/overview").status_code == 200
    assert signed_in("admin").get("/overview").status_code == 200
    assert signed_in("police").get("/overview").status_code == 403


def test_a_coordinator_opens_any_report_read_only(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 4)
    page = signed_in("coordinator").get(Q2)
    assert page.status_code == 200
    html = text_of(page)
    assert "警察局　民國111年第2季季報" in html
    assert '<td class="current">4</td>' in html
    assert 'name="value-1-police-1-sessions"' not in html  # no report inputs for reviewers
    assert f"核定第 {stored_report(web_app).revision} 版報告" in html and "退回報告" in html
    assert unlabelled_inputs(page) == []
    not_yet = signed_in("coordinator").get("/reports/social/2022/2")
    assert not_yet.status_code == 200
    assert "社會局尚未填報本季報告" in text_of(not_yet)


def test_accepting_a_submitted_report(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 4)
    coordinator = signed_in("coordinator")
    accepted = coordinator.post(Q2 + "/accept")
    assert accepted.status_code == 303
    assert accepted.headers["Location"] == "/overview?period=2022Q2"
    assert "已核定警察局民國111年第2季的報告" in text_of(coordinator.get("/overview?period=2022Q2"))
    report = stored_report(web_app)
    assert (report.status, report.revisions[-1].actor) == ("accepted", "王管考")


def test_a_draft_cannot_be_accepted(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 4, submit=False)
    refused = signed_in("coordinator").post(Q2 + "/accept")
    assert refused.status_code == 409
    assert "報告目前為「草稿」" in text_of(refused)
    assert stored_report(web_app).status == "draft"
    assert signed_in("coordinator").post("/reports/social/2022/2/accept").status_code == 404


def test_returning_needs_a_comment_which_the_bureau_then_reads(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 4)
    coordinator = signed_in("coordinator")
    blank = coordinator.post(Q2 + "/return", {"comment": "   "})
    assert blank.status_code == 422
    assert field_errors(blank) == {"comment": ["請填寫退回意見，說明需要補正的地方。"]}
    assert stored_report(web_app).status == "submitted"

    returned = coordinator.post(Q2 + "/return", {"comment": "第1項場次與附件不符，請更正。"})
    assert returned.status_code == 303
    report = stored_report(web_app)
    assert (report.status, report.revisions[-1].comment) == ("returned", "第1項場次與附件不符，請更正。")
    assert "第1項場次與附件不符，請更正。" in text_of(signed_in("police").get(Q2))


def test_a_returned_report_cannot_be_returned_again(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 4)
    coordinator = signed_in("coordinator")
    coordinator.post(Q2 + "/return", {"comment": "請更正"})
    again = coordinator.post(Q2 + "/return", {"comment": "再次退回"})
    assert again.status_code == 409
    assert "再次退回" in text_of(again)  # what was typed is kept


def test_viewers_and_bureaus_cannot_accept_or_return(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 4)
    viewer_page = signed_in("viewer").get(Q2)
    assert "核定報告" not in text_of(viewer_page)
    for who in ("viewer", "police"):
        assert signed_in(who).post(Q2 + "/accept").status_code == 403
        assert signed_in(who).post(Q2 + "/return", {"comment": "x"}).status_code == 403
    assert stored_report(web_app).status == "submitted"


def test_the_history_shows_who_changed_what_and_when(signed_in, web_app):
    police = signed_in("police")
    police.post(Q2, full_form("police", 1, intent="save"))
    police.post(Q2, full_form("police", 1, intent="submit", **{"value-1-police-1-sessions": "6"}))
    signed_in("coordinator").post(Q2 + "/return", {"comment": "請補充說明"})
    page = police.get(Q2 + "/history")
    assert page.status_code == 200
    html = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text_of(page)))
    assert "共 4 版" in html
    assert "第 4 版：退回 由 王管考 111年7月5日 10:00 狀態：已退回" in html
    assert "退回意見： 請補充說明" in html
    assert "第 3 版：送出 由 陳警員" in html
    assert "狀態 已送出 已退回" in html
    assert "1.police.1 辦理場次 1 6" in html  # the save before submitting
    assert "第 1 版：建立 由 陳警員" in html
    assert "1.police.1 參與人次 （空白） 1" in html


def test_history_of_a_report_not_yet_saved_or_of_another_bureau_is_not_found(signed_in, web_app):
    assert signed_in("police").get(Q2 + "/history").status_code == 404
    file_report(web_app, "education", Quarter(2022, 2), 1)
    assert signed_in("police").get("/reports/education/2022/2/history").status_code == 404
    assert signed_in("coordinator").get("/reports/education/2022/2/history").status_code == 200


def test_a_long_history_is_shown_a_page_at_a_time(signed_in, web_app):
    police = signed_in("police")
    for value in range(1, 26):  # 25 saves: 25 revisions
        police.post(Q2, full_form("police", value, intent="save"))
    newest = text_of(police.get(Q2 + "/history"))
    assert "共 25 版" in newest
    assert "第 25 版" in newest and "第 6 版：" in newest and "第 5 版：" not in newest
    older = re.search(r'href="([^"]+before=6)"', newest).group(1).replace("&amp;", "&")
    oldest = text_of(police.get(older))
    assert "第 5 版：" in oldest and "第 1 版：建立" in oldest
    assert "較早的紀錄" not in oldest
