"""Delivery through a real SMTP server (aiosmtpd): exactly once, never lost, never stale."""

from __future__ import annotations

import datetime as dt
import email.policy
import shutil

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from services.notify import messages, outbox
from services.notify.models import Notification
from shared.periods import Quarter
from tests.notify.world import BUREAUS, address, days_before_due, only, sqlite_only

MISSING = [b for b in BUREAUS if b != "police"]


def reminders_due(world, quarter, clock):
    """Police has submitted; five days before the due date the others get a reminder."""
    world.submit("police", quarter.year, quarter.quarter)
    world.sync()
    clock.now = days_before_due(quarter, 5)


def reminder_keys(quarter, bureaus=MISSING) -> list[str]:
    return sorted(f"reminder:{b}:{quarter.year}Q{quarter.quarter}:1" for b in bureaus)


def test_the_smtp_server_down_then_up_every_message_is_delivered_once(
    world, period, make_notify, smtp, clock
):
    reminders_due(world, period, clock)
    notify = make_notify()
    smtp.stop()  # the mail server is down
    assert only(notify.evaluate()["created"], period) == reminder_keys(period)

    stats = notify.deliver()
    assert stats["retried"] == len(MISSING) and "sent" not in stats
    rows = notify.rows()
    assert {row.status for row in rows} == {"pending"}
    assert all(row.attempts == 1 and "ConnectionRefusedError" in row.last_error for row in rows)
    # backoff: nothing is due again at once; the first retry comes after 30-60 s (base 60 s, jitter)
    assert all(
        dt.timedelta(seconds=30) <= row.next_attempt_at - clock() <= dt.timedelta(seconds=60) for row in rows
    )
    assert not notify.deliver()

    smtp.start()  # back, but busy for the first message
    smtp.mailbox.answers = ["451 4.3.0 Mail server temporarily rejected message"]
    clock.advance(seconds=61)
    assert only(notify.evaluate()["created"], period) == []  # evaluating again adds nothing
    stats = notify.deliver()
    assert stats["sent"] == len(MISSING) - 1 and stats["retried"] == 1
    busy = next(row for row in notify.rows() if row.status == "pending")
    assert busy.attempts == 2 and busy.last_error.startswith("451 4.3.0")

    clock.advance(seconds=121)  # the second retry waits 60-120 s
    assert notify.deliver()["sent"] == 1
    clock.advance(hours=2)
    assert not notify.deliver()
    assert sorted(smtp.delivered()) == reminder_keys(period)
    assert set(notify.statuses().values()) == {"sent"}
    assert sorted(to for _, (to,) in smtp.mailbox.envelopes) == sorted(address(b) for b in MISSING)


def test_a_5xx_answer_marks_the_message_failed_with_the_servers_answer(
    world, period, make_notify, smtp, clock
):
    reminders_due(world, period, clock)
    notify = make_notify()
    notify.evaluate()
    smtp.mailbox.always = "550 5.1.1 Mailbox unavailable"
    stats = notify.deliver()
    assert stats["failed"] == len(MISSING)
    row = notify.rows()[0]
    assert (row.status, row.last_error, row.failures) == ("failed", "550 5.1.1 Mailbox unavailable", 1)
    clock.advance(days=1)
    assert not notify.deliver()  # failed is final until someone resends it
    assert smtp.delivered() == []


def test_a_report_submitted_between_evaluation_and_sending_cancels_its_reminder(
    world, period, make_notify, smtp, clock
):
    reminders_due(world, period, clock)
    notify = make_notify()
    notify.evaluate()
    # kpi has not even seen it: intake, the system of record, is asked
    world.submit("health", period.year, period.quarter)
    notify.deliver()
    health = notify.rows(bureau="health")[0]
    assert (health.status, health.status_reason) == ("cancelled", "the report is submitted now")
    assert sorted(smtp.delivered()) == reminder_keys(period, [b for b in MISSING if b != "health"])


def test_a_reminder_still_waiting_on_the_due_date_gives_way_to_the_overdue_notice(
    world, period, make_notify, smtp, clock
):
    reminders_due(world, period, clock)
    notify = make_notify()
    smtp.stop()
    notify.evaluate()
    notify.deliver()  # the reminders wait for the server
    clock.now = days_before_due(period, -1)
    summary = notify.evaluate()
    overdue = sorted(key.replace("reminder:", "overdue:") for key in reminder_keys(period))
    assert only(summary["created"], period) == overdue
    assert summary["superseded"] == len(MISSING)
    smtp.start()
    notify.deliver()
    assert sorted(smtp.delivered()) == overdue
    reminder = notify.rows(rule="reminder", bureau="labor")[0]
    assert (reminder.status, reminder.status_reason) == (
        "cancelled",
        f"superseded by overdue:labor:{period.year}Q{period.quarter}:1",
    )


@sqlite_only  # its quarter is fixed, so it runs once
def test_the_decoded_traditional_chinese_message_is_intact(world, make_notify, smtp, clock):
    reminders_due(world, world.period(Quarter(2022, 4)), clock)  # due 10 January 2023; ROC year 111
    notify = make_notify()
    notify.evaluate()
    notify.deliver()
    message = next(m for m in smtp.accepted if m["X-DGBV-Notification"] == "reminder:labor:2022Q4:1")

    assert message["Subject"] == "【提醒】民國111年第4季數位性別暴力防治方案季報填報期限為112年1月10日"
    assert message["To"] == "labor@dgbv.example.tw"
    assert message["From"].addresses[0].addr_spec == "dgbv-notify@ntpc.example.tw"
    assert message["From"].addresses[0].display_name == "新北市數位性別暴力防治方案"
    assert message["Message-ID"].endswith("@ntpc.example.tw>")
    assert email.utils.parsedate_to_datetime(message["Date"]) == clock()
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text["Content-Transfer-Encoding"] == html["Content-Transfer-Encoding"] == "base64"
    body = text.get_content()
    assert body.startswith("新北市政府勞工局 承辦人員您好：")
    assert "民國111年第4季「數位性別暴力防治方案」季報的填報期限為112年1月10日，距截止尚有 5 天。" in body
    assert "貴單位本季季報目前狀態為「未填報」。" in body
    assert "https://dgbv.ntpc.example.tw/reports/labor/2022/4" in body
    assert '<a href="https://dgbv.ntpc.example.tw/reports/labor/2022/4">' in html.get_content()
    # nothing 8-bit on the wire: the raw message is ASCII
    raw = message.as_bytes(policy=email.policy.SMTP)
    assert raw.decode("ascii")


@sqlite_only
def test_a_message_is_given_up_after_the_last_attempt(world, period, make_notify, smtp, clock):
    reminders_due(world, period, clock)
    notify = make_notify(SEND_MAX_ATTEMPTS=2)
    smtp.mailbox.always = "451 4.7.1 Greylisted"
    notify.evaluate()
    assert notify.deliver()["retried"] == len(MISSING)
    clock.advance(minutes=2)
    assert notify.deliver()["failed"] == len(MISSING)
    row = notify.rows()[0]
    assert (row.status, row.last_error) == ("failed", "gave up after 2 attempts: 451 4.7.1 Greylisted")


@sqlite_only
def test_one_connection_serves_a_whole_batch(world, period, make_notify, smtp, clock):
    reminders_due(world, period, clock)
    notify = make_notify()
    notify.evaluate()
    notify.deliver()
    assert sorted(smtp.delivered()) == reminder_keys(period)
    assert smtp.mailbox.connections == 1


def test_a_crashed_senders_rows_are_claimed_again_once_its_lease_expires(
    world, period, make_notify, smtp, clock
):
    reminders_due(world, period, clock)
    notify = make_notify()
    notify.evaluate()
    database = notify.notifier.database
    crashed = outbox.claim(database, clock(), limit=100, lease_seconds=300)  # ... and never came back
    assert len(crashed.rows) == len(MISSING)
    assert not notify.deliver()  # leased: nobody else touches them

    clock.advance(seconds=301)
    assert notify.deliver()["sent"] == len(MISSING)
    assert sorted(smtp.delivered()) == reminder_keys(period)
    # the crashed sender, were it to wake up, can no longer change them
    assert not outbox.mark_sent(database, crashed.rows[0], crashed.token, clock())
    assert all(row.attempts == 2 for row in notify.rows())


@sqlite_only
def test_dry_run_writes_the_messages_and_sends_nothing(world, period, make_notify, smtp, clock):
    reminders_due(world, period, clock)
    notify = make_notify(DRY_RUN=True)
    assert only(notify.evaluate()["created"], period) == reminder_keys(period)
    notify.deliver()
    assert smtp.delivered() == []
    rows = notify.rows()
    assert {row.status for row in rows} == {"dry_run"}
    assert rows[0].subject.startswith(f"【提醒】{period.label_zh}")


def metric(notify, name: str, **labels) -> float:
    text = notify.client.get("/metrics").get_data(as_text=True)
    return next(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and sample.labels == labels
    )


@sqlite_only
def test_one_message_that_cannot_be_prepared_fails_alone_and_the_batch_goes_on(
    world, period, make_notify, smtp, clock
):
    reminders_due(world, period, clock)
    notify = make_notify()
    notify.evaluate()
    poisoned, unbuildable, *good = notify.rows()  # claimed in this order: the bad ones first
    with notify.notifier.database.transaction() as session:
        # a row whose facts its re-check does not expect (e.g. written by another version) ...
        facts = {name: value for name, value in poisoned.facts.items() if name != "due_date"}
        session.execute(update(Notification).where(Notification.id == poisoned.id).values(facts=facts))
        # ... and one whose subject no e-mail header can carry
        session.execute(
            update(Notification).where(Notification.id == unbuildable.id).values(subject="第一行\n第二行")
        )

    stats = notify.deliver()
    assert (stats["sent"], stats["failed"]) == (len(good), 2)
    assert sorted(smtp.delivered()) == sorted(row.dedup_key for row in good)
    shown = notify.api("coordinator", "GET", f"/api/v1/notifications/{poisoned.id}").json
    assert (shown["status"], shown["last_error"]) == ("failed", "re-check failed: KeyError: 'due_date'")
    shown = notify.api("coordinator", "GET", f"/api/v1/notifications/{unbuildable.id}").json
    assert shown["status"] == "failed"
    assert shown["last_error"].startswith("building the message failed: ValueError: ")
    assert metric(notify, "dgbv_notifications_failed_total", rule="reminder", rule_name="提醒") == 2
    clock.advance(seconds=301)  # past any lease: failed rows are not claimed again
    assert not notify.deliver()


@pytest.fixture
def templates(tmp_path, monkeypatch):
    """A copy of the templates that notify apps built from now on read instead of their own."""
    folder = shutil.copytree(messages.TEMPLATES, tmp_path / "templates")
    monkeypatch.setattr(messages, "TEMPLATES", folder)
    return folder


@sqlite_only
def test_a_message_that_cannot_be_rendered_is_written_failed_and_rendered_again_on_resend(
    world, period, make_notify, smtp, clock, templates
):
    reminder = templates / "reminder.txt.j2"
    fixed = reminder.read_text(encoding="utf-8")
    # compiles, so notify starts, but asks one bureau's message for a fact no rule gives
    reminder.write_text('{% if bureau == "labor" %}{{ contact_person }}{% endif %}' + fixed, encoding="utf-8")
    reminders_due(world, period, clock)
    notify = make_notify()

    summary = notify.evaluate()
    assert only(summary["created"], period) == reminder_keys(period)  # every one is written
    (broken,) = notify.rows(status="failed")
    assert (broken.bureau, broken.subject, broken.failures) == ("labor", "", 1)
    assert broken.last_error == "rendering failed: UndefinedError: 'contact_person' is undefined"
    notify.deliver()
    assert sorted(smtp.delivered()) == reminder_keys(period, [b for b in MISSING if b != "labor"])
    assert metric(notify, "dgbv_notifications_failed_total", rule="reminder", rule_name="提醒") == 1

    path = f"/api/v1/notifications/{broken.id}/resend"
    refused = notify.api("coordinator", "POST", path)
    assert refused.status_code == 409
    assert "rendering failed: UndefinedError" in refused.json["detail"]
    reminder.write_text(fixed, encoding="utf-8")  # the template is mended
    resent = notify.api("coordinator", "POST", path).json
    assert resent["status"] == "pending" and resent["subject"].startswith(f"【提醒】{period.label_zh}")
    notify.deliver()
    assert sorted(smtp.delivered()) == reminder_keys(period)
