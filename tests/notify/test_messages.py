"""The messages on plain data: the subjects bureau staff read, and a clean MIME structure."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from types import SimpleNamespace

from services.notify.messages import Renderer, build_message, new_message_id
from services.notify.rules import RULES
from tests.notify.test_rules import compliance, evaluate, returned_report

RENDERER = Renderer("數位性別暴力防治方案", "https://dgbv.ntpc.gov.tw/", "新北市政府")


def first_quarter_reminder():
    document = {**compliance({}), "quarter": 1, "due_date": "2022-04-10"}
    (candidate, *_) = evaluate(dt.date(2022, 4, 3), compliance=document).candidates
    return candidate, render(candidate)


def render(candidate):
    return RENDERER.render(RULES[candidate.rule].templates, candidate.facts, candidate.key)


def test_the_reminder_subject_names_the_roc_period_and_the_due_date():
    candidate, rendered = first_quarter_reminder()
    assert rendered.subject == "【提醒】民國111年第1季數位性別暴力防治方案執行報告將於4月10日截止"
    assert rendered.text.startswith("新北市政府警察局 承辦人員您好：\n")
    assert "執行報告的繳交期限為111年4月10日，距截止尚有 7 天。" in rendered.text
    assert "https://dgbv.ntpc.gov.tw/reports/police/2022/1" in rendered.text
    assert f"通知編號：{candidate.key}" in rendered.text


def test_a_coordinators_comment_is_escaped_in_html_and_verbatim_in_text():
    report = returned_report()
    report["history"][-1]["comment"] = '請補正 <b>附件</b> & "簽核"'
    (candidate,) = evaluate(dt.date(2022, 7, 5), returned_reports=[report]).candidates
    rendered = render(candidate)
    assert '請補正 <b>附件</b> & "簽核"' in rendered.text
    assert "請補正 &lt;b&gt;附件&lt;/b&gt; &amp; &#34;簽核&#34;" in rendered.html


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
    assert parsed["X-DGBV-Notification"] == "reminder:police:2022Q1:1"
    assert parsed["Message-ID"] == row.message_id and row.message_id.endswith("@ntpc.gov.tw>")
    assert parsed["Date"] == "Sun, 03 Apr 2022 09:00:00 +0800"  # Taipei time
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text
    assert parsed.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered.html
