"""The messages on plain data: what bureau staff, coordinators and the committee read, each saying
what to do next in the plan's own words, and a clean MIME structure."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from types import SimpleNamespace

import pytest

from services.notify.messages import TEMPLATES, Renderer, build_message, new_message_id
from services.notify.models import RULE_NAMES
from services.notify.rules import RULES
from tests.notify.test_rules import (
    ACCEPTED,
    AFTER_LOCK,
    ALL_IN,
    BEHIND,
    CATALOG,
    COMMITTEE,
    DIGEST,
    LOCKED_OVERDUE,
    OVERDUE,
    REASON,
    REMINDER,
    REOPENED,
    RETURNED,
    compliance,
    evaluate,
    missing,
    progress,
    returned_report,
)

RENDERER = Renderer("數位性別暴力防治方案", "https://dgbv.ntpc.gov.tw/", "新北市政府")
WRITTEN_ON = dt.date(2022, 4, 3)


def first_quarter_reminder():
    document = {**compliance({}), "quarter": 1, "due_date": "2022-04-10"}
    (candidate, *_) = evaluate(dt.date(2022, 4, 3), compliance=document).candidates
    return candidate, render(candidate)


def render(candidate):
    return RENDERER.render(RULES[candidate.rule].templates, candidate.facts, WRITTEN_ON)


def test_the_reminder_subject_names_the_roc_period_and_the_due_date():
    candidate, rendered = first_quarter_reminder()
    assert rendered.subject == "【提醒】民國111年第1季數位性別暴力防治方案季報填報期限為111年4月10日"
    assert rendered.text.startswith("新北市政府警察局 承辦人員您好：\n")
    assert "季報的填報期限為111年4月10日，距截止尚有 7 天。" in rendered.text
    assert "貴單位本季季報目前狀態為「未填報」。" in rendered.text
    assert (
        "請於填報期限前至季報填報頁面完成填報並送出：\nhttps://dgbv.ntpc.gov.tw/reports/police/2022/1\n"
        in rendered.text
    )


def test_a_coordinators_comment_is_escaped_in_html_and_verbatim_in_text():
    report = returned_report()
    report["history"][-1]["comment"] = '請補正 <b>附件</b> & "簽核"'
    (candidate,) = evaluate(dt.date(2022, 7, 5), returned_reports=[report]).candidates
    rendered = render(candidate)
    assert '請補正 <b>附件</b> & "簽核"' in rendered.text
    assert "請補正 &lt;b&gt;附件&lt;/b&gt; &amp; &#34;簽核&#34;" in rendered.html


EVERY_RULE = {
    candidate.rule + (":locked" if candidate.facts.get("locked") else ""): candidate
    for candidate in (
        REMINDER,
        OVERDUE,
        LOCKED_OVERDUE,
        RETURNED,
        BEHIND,
        COMMITTEE,
        REOPENED,
        ACCEPTED,
        DIGEST,
    )
}
URL = re.compile(r"https?://[^\s\"<]+")


def test_every_rule_has_an_email_here():
    assert {name.split(":")[0] for name in EVERY_RULE} == set(RULES)


@pytest.mark.parametrize("name", sorted(EVERY_RULE))
def test_the_subject_starts_with_the_rules_name_that_the_dashboard_and_alerts_show(name):
    """RULE_NAMES is the `rule_name` label of notify's metrics: the operations dashboard's legends
    and the DGBVOutboxFailing alert say what the e-mails' subjects say."""
    candidate = EVERY_RULE[name]
    assert set(RULE_NAMES) == set(RULES)
    assert render(candidate).subject.startswith(f"【{RULE_NAMES[candidate.rule]}】")


@pytest.mark.parametrize("name", sorted(EVERY_RULE))
def test_emails_give_names_roc_dates_and_a_reference_never_codes(name):
    candidate = EVERY_RULE[name]
    rendered = render(candidate)
    for body in (rendered.subject, rendered.text, rendered.html):
        readable = URL.sub("", body)  # a link may name the bureau's id and the quarter: it is a link
        assert candidate.key not in body and "通知編號" not in body
        assert not re.search(r"\b\d\.[a-z]+\.\d+\b", readable), "an action's code"
        assert not re.search(r"\b20\d\d(-\d\d|Q\d)", readable), "a Gregorian date or a quarter's code"
        assert not [bureau.id for bureau in CATALOG.bureaus if bureau.id in readable], "a bureau's id"
    assert "本通知於111年4月3日產生" in rendered.text and "本通知於111年4月3日產生" in rendered.html
    assert URL.search(rendered.text) or candidate.rule == "committee", "no link to act on"


# The words of the seed and of intake's pages; the left ones are what the e-mails once said.
VOCABULARY = {
    "執行報告": "季報",
    "繳交期限": "填報期限",
    "提交": "送出",
    "措施": "具體作法",
    "工作項目": "具體作法",
    "審查意見": "退回意見",
    "審核通過": "已核定",
    "成果指標": "成效指標",
    "通知編號": "(no code in a body)",
}


@pytest.mark.parametrize("template", sorted(path.name for path in TEMPLATES.iterdir()))
def test_every_template_speaks_the_plans_words(template):
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    assert [f"{old} (say {new})" for old, new in VOCABULARY.items() if old in text] == []


def test_the_behind_email_names_each_action_as_the_plan_does_with_kpis_percentages():
    figures = progress(True)
    figures["actions"][0].update(planned_to_date=200.0, reported_to_date=113, ratio=0.565, percent=57)
    (candidate,) = evaluate(dt.date(2022, 7, 12), compliance=ALL_IN, progress=figures).candidates
    rendered = render(candidate)
    assert rendered.subject == "【進度落後】民國111年第2季數位性別暴力防治方案：警察局有1項具體作法進度落後"
    action = CATALOG.action("1.police.1")
    assert f"「初級預防－多元推廣宣導策略」第1項具體作法：{action.text}" in rendered.text
    assert "辦理場次：預定 200 場次，實際 113 場次（達成 57%）" in rendered.text  # kpi's half-up, not round()
    assert (
        "各項落後原因及因應對策，貴單位已填於本季季報：\nhttps://dgbv.ntpc.gov.tw/reports/police/2022/2\n"
        in rendered.text
    )
    assert (
        "並於民國111年第3季季報說明辦理情形（該季季報現在即可儲存草稿）：\nhttps://dgbv.ntpc.gov.tw/reports/police/2022/3\n"
        in rendered.text
    )


def test_an_overdue_notice_for_a_locked_quarter_names_the_coordinators_instead_of_asking_to_submit():
    (candidate,) = [
        c
        for c in evaluate(
            AFTER_LOCK,
            compliance=compliance({b.id: "submitted" for b in CATALOG.bureaus if b.id != "police"}),
            outstanding_after_lock=[missing()],
            coordinator_emails=["coord-a@ntpc.gov.tw", "coord-b@ntpc.gov.tw"],
        ).candidates
        if c.rule == "overdue"
    ]
    rendered = render(candidate)
    assert rendered.subject == (
        "【逾期】民國111年第2季數位性別暴力防治方案季報已逾填報期限41日且已關閉填報，請洽管考人員重新開放（第1次通知）"
    )
    assert "本季開放填報至111年8月9日止，現已關閉，季報填報頁面不再接受貴單位送出。" in rendered.text
    assert "請先洽管考人員重新開放本季（電子郵件：coord-a@ntpc.gov.tw、coord-b@ntpc.gov.tw）" in rendered.text
    assert "請儘速" not in rendered.text
    assert '<a href="mailto:coord-a@ntpc.gov.tw">coord-a@ntpc.gov.tw</a>' in rendered.html
    unlocked = render(OVERDUE)
    assert "請儘速至季報填報頁面完成填報並送出（本季開放填報至111年8月9日止）：" in unlocked.text
    assert "管考人員" not in unlocked.text


def test_the_coordinators_list_names_each_bureau_and_quarter_and_links_to_its_overview():
    rendered = render(DIGEST)
    assert rendered.subject == "【待重新開放】數位性別暴力防治方案：1份季報已關閉填報仍未送出（111年8月20日）"
    assert rendered.text.startswith("管考人員您好：\n")
    assert (
        "1. 警察局　民國111年第2季（未填報，已逾期 41 天，開放填報至111年8月9日止）\n"
        "   https://dgbv.ntpc.gov.tw/overview?period=2022Q2\n"
    ) in rendered.text
    assert "請至各季總覽頁面重新開放該機關的季報" in rendered.text
    assert '<a href="https://dgbv.ntpc.gov.tw/overview?period=2022Q2">重新開放</a>' in rendered.html


def test_a_reopening_says_until_when_with_the_coordinators_reason_and_links_to_the_form():
    rendered = render(REOPENED)
    assert (
        rendered.subject
        == "【重新開放】民國111年第1季數位性別暴力防治方案季報已重新開放填報至111年8月4日 10:00"
    )
    assert (
        "管考人員已重新開放貴單位民國111年第1季「數位性別暴力防治方案」季報，開放填報至111年8月4日 10:00止。"
        in rendered.text
    )
    assert f"重新開放原因：{REASON}" in rendered.text
    assert (
        "貴單位本季季報目前狀態為「草稿」，請於開放期間內完成填報並送出：\n"
        "https://dgbv.ntpc.gov.tw/reports/health/2022/1\n"
    ) in rendered.text


def test_an_acceptance_is_short_and_says_nothing_more_is_needed():
    rendered = render(ACCEPTED)
    assert rendered.subject == "【已核定】民國111年第2季數位性別暴力防治方案季報已核定"
    assert "季報已於111年7月4日經管考人員核定，本季無須再做任何處理。" in rendered.text


def test_the_message_is_ascii_on_the_wire_and_decodes_to_the_same_text():
    candidate, rendered = first_quarter_reminder()
    row = SimpleNamespace(
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        recipients=candidate.recipients,
        message_id=new_message_id("notify@ntpc.gov.tw"),
        dedup_key=candidate.key,
    )
    now = dt.datetime(2022, 4, 3, 1, 0, tzinfo=dt.UTC)
    raw = build_message(row, "notify@ntpc.gov.tw", "新北市數位性別暴力防治方案", now).as_bytes()
    assert raw.decode("ascii")  # no 8-bit data for a strict server
    assert raw.count(b"Content-Transfer-Encoding: base64") == 2

    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == rendered.subject
    assert parsed["X-DGBV-Notification"] == "reminder:police:2022Q1:1"  # the key stays in the header
    assert parsed["Message-ID"] == row.message_id and row.message_id.endswith("@ntpc.gov.tw>")
    assert parsed["Date"] == "Sun, 03 Apr 2022 09:00:00 +0800"  # Taipei time
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered.html
