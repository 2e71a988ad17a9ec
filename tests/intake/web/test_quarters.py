"""My quarters: every quarter of the plan with its status, due date (ROC) and days left or late."""

from __future__ import annotations

import re

from shared.periods import Quarter
from tests.intake.web.conftest import Q2, file_report, full_form, text_of


def rows(response) -> dict[str, str]:
    """Each quarter's row as text, keyed by its ROC label."""
    html = text_of(response)
    found = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        label = re.search(r"民國\d+年第\d季", row)
        if label:
            found[label.group(0)] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
    return found


def test_every_quarter_of_the_plan_is_listed_newest_first_in_roc_years(signed_in):
    page = signed_in("police").get("/quarters")
    assert page.status_code == 200
    # Up to the quarter in progress: nothing is asked of a quarter that has not started.
    assert list(rows(page)) == ["民國111年第3季", "民國111年第2季", "民國111年第1季"]


def test_each_quarter_says_its_status_due_date_and_days_left_or_late(signed_in, web_app, clock):
    police = signed_in("police")
    police.post(Q2, full_form("police", 1, intent="save"))
    found = rows(police.get("/quarters"))
    assert found["民國111年第2季"].startswith("民國111年第2季 草稿 111年7月10日 剩餘 5 天 繼續填寫")
    assert (
        found["民國111年第1季"]
        == "民國111年第1季 未填報 已鎖定 111年4月10日 已逾期 86 天 檢視 民國111年第1季"
    )
    assert "111年10月10日 本季進行中，季末後可送出 開始填寫" in found["民國111年第3季"]  # the current quarter


def test_the_due_date_itself_and_the_days_after_it(signed_in, clock):
    clock.set_taipei(2022, 7, 10, 18, 0)
    assert "今天截止" in rows(signed_in("police").get("/quarters"))["民國111年第2季"]
    clock.set_taipei(2022, 7, 13, 9, 0)
    assert "已逾期 3 天" in rows(signed_in("police").get("/quarters"))["民國111年第2季"]


def test_submitted_quarters_say_whether_they_were_on_time(signed_in, web_app, clock):
    clock.set_taipei(2022, 7, 13, 9, 0)
    file_report(web_app, "police", Quarter(2022, 2), 1)
    found = rows(signed_in("police").get("/quarters"))
    assert "已送出" in found["民國111年第2季"] and "逾期 3 天送出" in found["民國111年第2季"]


def test_each_bureau_sees_its_own_quarters_only(signed_in, web_app):
    file_report(web_app, "police", Quarter(2022, 2), 1)
    page = signed_in("education").get("/quarters")
    assert "教育局・我的季報" in text_of(page)
    assert "已送出" not in text_of(page)
    assert "/reports/education/2022/2" in text_of(page)


def test_coordinators_have_no_quarters_of_their_own(signed_in):
    assert signed_in("coordinator").get("/quarters").status_code == 403


def test_what_needs_action_comes_first_and_history_is_folded_away(signed_in, web_app, clock):
    clock.set_taipei(2022, 4, 8, 10)
    file_report(web_app, "police", Quarter(2022, 1), 1)  # submitted: history
    clock.set_taipei(2022, 7, 5, 10)
    html = text_of(signed_in("police").get("/quarters"))
    waiting, history = html.split("<details", 1)
    assert "民國111年第2季" in waiting and "民國111年第3季" in waiting  # due soon, in progress
    assert "民國111年第1季" not in waiting
    assert "歷史季報（1 季）" in history and "民國111年第1季" in history
