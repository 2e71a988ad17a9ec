"""The report form: every action by program, values beside their context, errors beside their fields."""

from __future__ import annotations

import re

import pytest

from services.intake.web.forms import value_fields
from shared.catalog import default_catalog
from shared.periods import Quarter
from tests.intake.web.conftest import (
    Q2,
    field_errors,
    file_report,
    full_form,
    input_value,
    set_target,
    stored_report,
    text_of,
    unlabelled_inputs,
)

SESSIONS = "value-1-police-1-sessions"
# Participants are counted by sex: three inputs, the total derived.
PARTICIPANTS = "value-1-police-1-participants-male"
DELAY, COUNTER, NOTE = "delay_reason-1-police-1", "countermeasure-1-police-1", "note-1-police-1"


def metric_block(response, name: str) -> str:
    """The part of the form about one metric: its label, context, errors and input."""
    html = text_of(response)
    end = html.index(f'name="{name}"')
    return html[html.rindex('<div class="metric', 0, end) : end]


def test_the_form_shows_every_action_of_the_bureau_by_program(signed_in):
    page = signed_in("police").get(Q2)
    assert page.status_code == 200
    html = text_of(page)
    assert "警察局　民國111年第2季季報" in html
    catalog = default_catalog()
    for program in (
        "初級預防－多元推廣宣導策略",
        "次級預防－警政積極偵處、防制",
        "三級預防－救援保護被害人，查緝隔離加害人",
    ):
        assert program in html
    for action in catalog.actions_for("police"):
        assert action.text in html
        for metric in action.metrics:
            block = metric_block(page, value_fields(action.id, metric)[0])
            assert metric.name in block and f"（{metric.unit}）" in block
    assert catalog.actions_for("education")[0].text not in html
    assert unlabelled_inputs(page) == []
    assert "填報期限：111年7月10日" in html
    assert "剩餘 5 天" in html


def test_the_planned_value_and_earlier_quarters_are_beside_the_input(signed_in, web_app, clock):
    set_target(web_app, "1.police.1", "sessions", 40)
    clock.set_taipei(2022, 4, 6, 9, 0)
    file_report(web_app, "police", Quarter(2022, 1), 12)
    clock.set_taipei(2022, 7, 5, 10, 0)
    block = metric_block(signed_in("police").get(Q2), SESSIONS)
    assert re.search(r"<dt>年度目標</dt><dd>40</dd>", block)
    assert re.search(r"<dt>第1季</dt><dd>12</dd>", block)
    assert "未設定" in metric_block(signed_in("police").get(Q2), PARTICIPANTS)


def test_a_draft_is_saved_and_shown_again(signed_in, web_app):
    police = signed_in("police")
    saved = police.post(Q2, full_form("police", 3, intent="save", **{NOTE: "校園宣導 3 場"}))
    assert saved.status_code == 303
    assert saved.headers["Location"] == Q2
    page = police.get(Q2)
    assert "已儲存草稿" in text_of(page)
    assert input_value(page, SESSIONS) == "3"
    assert input_value(page, NOTE) == "校園宣導 3 場"
    report = stored_report(web_app)
    assert report.status == "draft"
    assert report.actions["1.police.1"]["values"] == {"sessions": 3, "participants": 3}
    assert report.revisions[-1].actor == "陳警員"


def test_text_in_a_number_field_is_named_beside_it_and_nothing_typed_is_lost(signed_in, web_app):
    police = signed_in("police")
    typed = full_form(
        "police", 2, intent="save", **{SESSIONS: "三場", NOTE: "已辦理", "narrative": "說明文字"}
    )
    page = police.post(Q2, typed)
    assert page.status_code == 422
    assert field_errors(page) == {SESSIONS: ["請填數字（0 以上的整數），不可填文字。"]}
    assert input_value(page, SESSIONS) == "三場"
    assert input_value(page, PARTICIPANTS) == "2"
    assert input_value(page, NOTE) == "已辦理"
    assert input_value(page, "narrative") == "說明文字"
    assert f'href="#{SESSIONS}"' in text_of(page)  # the summary at the top links to the field
    assert (
        f'id="{SESSIONS}" name="{SESSIONS}" value="三場" autocomplete="off" aria-invalid="true"'
        in text_of(page)
    )
    assert stored_report(web_app) is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-3", "不可為負數，請填 0 以上的整數。"),
        ("2.5", "請填整數，不可有小數點。"),
        ("1e3", "請填數字（0 以上的整數），不可填文字。"),
        ("99999999999", "數值過大，請確認。"),
    ],
)
def test_wrong_numbers_are_refused_in_chinese(signed_in, web_app, typed, message):
    page = signed_in("police").post(Q2, full_form("police", 1, intent="save", **{SESSIONS: typed}))
    assert page.status_code == 422
    assert field_errors(page)[SESSIONS] == [message]
    assert stored_report(web_app) is None


def test_full_width_digits_and_thousands_separators_are_read(signed_in, web_app):
    police = signed_in("police")
    assert (
        police.post(
            Q2, full_form("police", 1, intent="save", **{SESSIONS: "１２", PARTICIPANTS: "1,200"})
        ).status_code
        == 303
    )
    assert stored_report(web_app).actions["1.police.1"]["values"] == {"sessions": 12, "participants": 1200}


def test_a_blank_value_is_kept_as_not_yet_known_in_a_draft(signed_in, web_app):
    police = signed_in("police")
    assert police.post(Q2, full_form("police", 1, intent="save", **{SESSIONS: " "})).status_code == 303
    assert stored_report(web_app).actions["1.police.1"]["values"]["sessions"] is None


def test_submitting_an_incomplete_report_names_each_missing_value_and_saves_nothing(signed_in, web_app):
    police = signed_in("police")
    page = police.post(Q2, full_form("police", 1, intent="submit", **{SESSIONS: ""}))
    assert page.status_code == 422
    assert field_errors(page) == {SESSIONS: ["送出前必須填寫此欄（沒有辦理請填 0）。"]}
    assert input_value(page, PARTICIPANTS) == "1"
    assert stored_report(web_app) is None


def test_an_action_behind_plan_asks_for_the_reasons_and_countermeasures(signed_in, web_app):
    set_target(web_app, "1.police.1", "sessions", 40)  # 20 planned by the end of June
    police = signed_in("police")
    form = police.get(Q2)
    assert f'name="{DELAY}"' in text_of(form) and f'name="{COUNTER}"' in text_of(form)
    assert 'name="delay_reason-1-police-2"' not in text_of(form)  # no target, not behind
    assert "進度落後：辦理場次累計 0 場次，目標累計 20 場次" in text_of(form)
    assert unlabelled_inputs(form) == []

    refused = police.post(Q2, full_form("police", 5, intent="submit"))
    assert refused.status_code == 422
    assert field_errors(refused) == {
        DELAY: ["本項進度落後，送出前須填寫落後原因。"],
        COUNTER: ["本項進度落後，送出前須填寫因應對策。"],
    }
    assert "辦理場次累計 5 場次，目標累計 20 場次" in text_of(refused)  # judged on what was typed
    assert stored_report(web_app) is None

    explained = full_form("police", 5, intent="submit", **{DELAY: "講師檔期延後", COUNTER: "第3季加開場次"})
    assert police.post(Q2, explained).status_code == 303
    report = stored_report(web_app)
    assert report.status == "submitted"
    assert report.actions["1.police.1"]["delay_reason"] == "講師檔期延後"
    assert "報告已送出" in text_of(police.get(Q2))


def test_on_plan_no_reasons_are_needed(signed_in, web_app):
    set_target(web_app, "1.police.1", "sessions", 40)
    police = signed_in("police")
    assert police.post(Q2, full_form("police", 20, intent="submit")).status_code == 303
    assert f'name="{DELAY}"' not in text_of(police.get(Q2))


def test_after_submission_a_change_needs_a_reason(signed_in, web_app):
    police = signed_in("police")
    police.post(Q2, full_form("police", 2, intent="submit"))
    page = police.get(Q2)
    assert 'value="amend"' in text_of(page) and 'value="save"' not in text_of(page)
    assert unlabelled_inputs(page) == []

    without = police.post(Q2, full_form("police", 4, intent="amend"))
    assert without.status_code == 422
    assert field_errors(without) == {"reason": ["報告已送出，修正時必須填寫修正原因。"]}
    assert input_value(without, SESSIONS) == "4"
    assert stored_report(web_app).actions["1.police.1"]["values"]["sessions"] == 2

    amended = police.post(Q2, full_form("police", 4, intent="amend", reason="漏列一場宣導"))
    assert amended.status_code == 303
    report = stored_report(web_app)
    assert (report.status, report.revisions[-1].event, report.revisions[-1].reason) == (
        "submitted",
        "amended",
        "漏列一場宣導",
    )
    assert "修正已送出" in text_of(police.get(Q2))


def test_an_amendment_must_leave_the_report_complete(signed_in, web_app):
    police = signed_in("police")
    police.post(Q2, full_form("police", 2, intent="submit"))
    page = police.post(Q2, full_form("police", 2, intent="amend", reason="更正", **{PARTICIPANTS: ""}))
    assert page.status_code == 422
    assert field_errors(page) == {PARTICIPANTS: ["送出前必須填寫此欄（沒有辦理請填 0）。"]}
    assert input_value(page, "reason") == "更正"


def test_a_returned_report_shows_the_comment_and_is_submitted_again(signed_in, web_app):
    police = signed_in("police")
    police.post(Q2, full_form("police", 2, intent="submit"))
    coordinator = signed_in("coordinator")
    coordinator.post(Q2 + "/return", {"comment": "請補充第2項的參賽件數說明"})
    page = police.get(Q2)
    assert "管考單位退回意見" in text_of(page) and "請補充第2項的參賽件數說明" in text_of(page)
    assert 'value="submit"' in text_of(page)
    assert police.post(Q2, full_form("police", 2, intent="submit", **{NOTE: "已補充"})).status_code == 303
    assert stored_report(web_app).revisions[-1].event == "resubmitted"


def test_a_locked_quarter_is_read_only(signed_in, web_app):
    police = signed_in("police")
    q1 = "/reports/police/2022/1"  # due 10 April, locked 30 days later
    page = police.get(q1)
    assert "本季已鎖定" in text_of(page)
    assert 'name="intent"' not in text_of(page)
    assert re.search(rf'name="{SESSIONS}"[^>]*readonly', text_of(page))
    refused = police.post(q1, full_form("police", 1, intent="save", **{NOTE: "補登"}))
    assert refused.status_code == 409
    assert "本季已鎖定" in text_of(refused)
    assert input_value(refused, NOTE) == "補登"
    assert stored_report(web_app, quarter=Quarter(2022, 1)) is None


def test_a_quarter_that_has_not_started_cannot_be_reported(signed_in, web_app):
    refused = signed_in("police").post("/reports/police/2022/4", full_form("police", 1, intent="save"))
    assert refused.status_code == 422
    assert "本季尚未開始" in text_of(refused)


def test_a_bureau_sees_only_its_own_reports(signed_in):
    police = signed_in("police")
    for path in ("/reports/education/2022/2", "/reports/fire/2022/2", "/reports/police/2022/5"):
        page = police.get(path)
        assert page.status_code == 404
        assert "找不到" in text_of(page)
    assert (
        police.post("/reports/education/2022/2", full_form("education", 1, intent="save")).status_code == 404
    )


def test_only_bureau_users_write_reports(signed_in):
    for who in ("coordinator", "viewer", "admin"):
        assert signed_in(who).post(Q2, full_form("police", 1, intent="save")).status_code == 403


def test_an_unknown_button_is_a_bad_request(signed_in):
    assert signed_in("police").post(Q2, full_form("police", 1, intent="delete")).status_code == 400


def test_overlong_text_is_refused_beside_the_field(signed_in, web_app):
    page = signed_in("police").post(Q2, full_form("police", 1, intent="save", **{NOTE: "字" * 2001}))
    assert page.status_code == 422
    assert field_errors(page) == {NOTE: ["最多 2000 字，請縮短。"]}


def test_people_are_typed_by_sex_and_the_saved_total_is_shown(signed_in, web_app):
    police = signed_in("police")
    page = police.get(Q2)
    block = metric_block(page, "value-1-police-1-participants-other")
    assert "依性別填寫，合計自動計算" in block
    for name, label in (("male", "男"), ("female", "女"), ("other", "其他或不詳")):
        assert f'<label for="value-1-police-1-participants-{name}">{label}</label>' in text_of(page)
    parts = {"value-1-police-1-participants-female": "215", "value-1-police-1-participants-other": "5"}
    saved = police.post(Q2, full_form("police", 200, intent="save", **parts))
    assert saved.status_code == 303
    entry = stored_report(web_app).actions["1.police.1"]
    assert entry["values"]["participants"] == 420
    assert entry["by_sex"]["participants"] == {"male": 200, "female": 215, "other": 5}
    assert "目前合計 420" in metric_block(police.get(Q2), "value-1-police-1-participants-male")


def test_a_missing_part_by_sex_is_named_beside_its_input(signed_in, web_app):
    police = signed_in("police")
    page = police.post(
        Q2, full_form("police", 1, intent="submit", **{"value-1-police-1-participants-female": ""})
    )
    assert page.status_code == 422
    assert field_errors(page) == {
        "value-1-police-1-participants-female": ["送出前必須填寫此欄（沒有辦理請填 0）。"]
    }
    assert "1.police.1 參與人次（女）" in text_of(page)  # the summary at the top names it


def test_before_the_quarter_ends_the_form_saves_drafts_and_offers_no_submit(signed_in, web_app, clock):
    clock.set_taipei(2022, 6, 20, 9, 0)
    police = signed_in("police")
    page = text_of(police.get(Q2))
    assert "本季尚未結束" in page and 'value="submit"' not in page
    refused = police.post(Q2, full_form("police", 1, intent="submit"))
    assert refused.status_code == 422
    assert "民國111年第2季尚未結束，111年7月1日起才能送出報告；現在可先儲存草稿。" in text_of(refused)
    assert stored_report(web_app) is None
    assert police.post(Q2, full_form("police", 1, intent="save")).status_code == 303
