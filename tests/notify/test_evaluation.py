"""Evaluations against real intake and kpi processes: which notifications exist, and only once."""

from __future__ import annotations

import datetime as dt

from shared import rules
from shared.periods import Quarter, format_roc_date
from tests.notify.world import BUREAUS, CATALOG, days_before_due, only, sqlite_only


def test_reminders_go_to_the_bureaus_that_have_not_submitted_once_whatever_happens(
    world, period, make_notify, clock
):
    q = period
    world.submit("police", q.year, q.quarter)
    world.submit("education", q.year, q.quarter)
    world.save_report("health", q.year, q.quarter)  # a draft
    world.sync()

    notify = make_notify()
    clock.now = days_before_due(q, 8)
    assert only(notify.evaluate()["created"], q) == []

    clock.now = days_before_due(q, 7)
    missing = [b for b in BUREAUS if b not in ("police", "education")]
    assert only(notify.evaluate()["created"], q) == sorted(
        f"reminder:{b}:{q.year}Q{q.quarter}:1" for b in missing
    )

    assert only(notify.evaluate()["created"], q) == []  # the same day again
    clock.now = days_before_due(q, 0)
    assert only(notify.evaluate()["created"], q) == []  # a later day of the window
    restarted = make_notify()  # a new app on the same database remembers nothing in memory
    assert only(restarted.evaluate()["created"], q) == []
    assert len(restarted.rows()) == len(missing)


@sqlite_only
def test_a_returned_report_is_announced_once_per_return_with_the_comment(
    world, period, make_notify, smtp, clock
):
    q = period
    world.submit("police", q.year, q.quarter)
    world.return_report("police", q.year, q.quarter, "第1項措施之參與人次與附件不符，請更正。")
    world.sync()
    notify = make_notify()
    clock.now = days_before_due(q, 2)

    key = f"returned:police:{q.year}Q{q.quarter}:3"  # revision 3 returned it
    assert key in notify.evaluate()["created"]
    assert key not in notify.evaluate()["created"]
    notify.deliver()
    (message,) = [m for m in smtp.accepted if m["X-DGBV-Notification"] == key]
    assert message["Subject"] == f"【退回】{q.label_zh}數位性別暴力防治方案季報已退回，請修正後重新送出"
    assert "第1項措施之參與人次與附件不符，請更正。" in message.get_body(("plain",)).get_content()

    world.submit("police", q.year, q.quarter)  # resubmitted (revision 4) ...
    world.return_report("police", q.year, q.quarter, "仍缺佐證資料。")  # ... and returned again
    world.sync()
    assert f"returned:police:{q.year}Q{q.quarter}:5" in notify.evaluate()["created"]
    world.submit("police", q.year, q.quarter)  # leave nothing returned for the other tests


@sqlite_only
def test_a_returned_notice_is_cancelled_when_the_bureau_resubmits_first(
    world, period, make_notify, smtp, clock
):
    q = period
    world.submit("labor", q.year, q.quarter)
    world.return_report("labor", q.year, q.quarter, "請補正。")
    notify = make_notify()
    clock.now = days_before_due(q, 2)
    notify.evaluate()
    world.submit("labor", q.year, q.quarter)
    notify.deliver()
    (row,) = notify.rows(rule="returned", bureau="labor", year=q.year, quarter=q.quarter)
    assert (row.status, row.status_reason) == ("cancelled", "the report is submitted now")


@sqlite_only
def test_behind_lists_each_action_with_its_planned_and_reported_values(world, make_notify, smtp, clock):
    world.period(Quarter(2022, 1))  # year to date: the whole year up to the quarter is this test's
    q = world.period(Quarter(2022, 2))
    world.target(q.year, "1.police.1", "sessions", annual=40)  # 10 a quarter
    world.target(q.year, "1.police.2", "contests", annual=4)
    for quarter in range(1, q.quarter + 1):
        for bureau in BUREAUS:
            world.submit(bureau, q.year, quarter, value=1)  # police: 1 session a quarter
    world.sync()
    notify = make_notify()
    clock.now = days_before_due(q, 3)  # every report is in: no need to wait for the due date

    created = only(notify.evaluate()["created"], q)
    assert created == [f"behind:police:{q.year}Q{q.quarter}:1"]  # 1.police.2 is on plan
    notify.deliver()
    (message,) = [m for m in smtp.accepted if m["X-DGBV-Notification"] == created[0]]
    assert message["Subject"] == f"【進度落後】{q.label_zh}數位性別暴力防治方案：警察局有1項具體作法進度落後"
    body = message.get_body(("plain",)).get_content()
    planned, reported = 10 * q.quarter, q.quarter
    assert f"辦理場次：預定 {planned} 場次，實際 {reported} 場次（達成 10%）" in body
    assert "「初級預防－多元推廣宣導策略」第1項具體作法：深入本市各級學校及社區" in body


@sqlite_only
def test_the_committee_is_alerted_to_an_indicator_off_track_in_the_current_year(
    world, make_notify, smtp, clock
):
    # kpi runs on the real clock: its current year is that of the current reporting quarter.
    now = dt.datetime.now(dt.UTC)
    current = rules.current_reporting_quarter(CATALOG.reporting, CATALOG.reporting.first_quarter, now)
    q = Quarter(current.year, min(current.quarter, 3))  # not a fourth quarter: then kpi says met or missed
    previous = q.year - 1
    world.outcomes("secret_filming_male_suspects", {previous: [25, 25, 25, 25], q.year: [30] * q.quarter})
    world.outcomes("secret_filming_female_victims", {previous: [25, 25, 25, 25], q.year: [20] * q.quarter})
    # Last year's verdict is history: it alerts nobody now.
    world.outcomes("obscene_distribution_male_suspects", {previous - 1: [5, 5, 5, 5], previous: [9, 9, 9, 9]})
    world.sync()
    notify = make_notify()
    clock.now = now

    created = [key for key in only(notify.evaluate()["created"], q) if key.startswith("committee:")]
    assert created == [f"committee:secret_filming_male_suspects:{q.year}Q{q.quarter}:off_track"]
    notify.deliver()
    (message,) = [m for m in smtp.accepted if m["X-DGBV-Notification"] == created[0]]
    assert message["To"] == "committee-a@ntpc.example.tw, committee-b@ntpc.example.tw"
    assert message["Subject"] == f"【指標警示】{q.label_zh}「妨害秘密(偷拍行為)案男性嫌疑人人數」偏離目標"
    body = message.get_body(("plain",)).get_content()
    assert "本年累計實際數：" + str(30 * q.quarter) in body
    assert "較基準年同期增減：+20.00%" in body
    assert "延續目標（非原方案所訂）：比照原方案" in body  # never presented as the plan's own goal


def test_overdue_notices_come_every_seven_days_at_most_four_times_across_restarts(
    world, period, make_notify, clock
):
    q = period
    for bureau in BUREAUS:
        if bureau != "labor":
            world.submit(bureau, q.year, q.quarter)
    world.sync()
    notify = make_notify()
    written = {}
    for day in range(1, 36):
        if day == 12:
            notify = make_notify()  # restarted: the history is in the database
        clock.now = days_before_due(q, -day)
        for key in only(notify.evaluate()["created"], q):
            written[key] = day
    prefix = f"overdue:labor:{q.year}Q{q.quarter}"
    assert written == {f"{prefix}:1": 1, f"{prefix}:2": 8, f"{prefix}:3": 15, f"{prefix}:4": 22}


def test_a_locked_quarter_asks_the_bureau_for_a_reopening_and_lists_it_for_the_coordinators(
    world, period, make_notify, smtp, clock
):
    q = period
    for bureau in BUREAUS:
        if bureau != "social":
            world.submit(bureau, q.year, q.quarter)
    world.sync()
    coordinators = ["coord-a@ntpc.example.tw", "coord-b@ntpc.example.tw"]
    notify = make_notify(COORDINATOR_EMAILS=coordinators)
    locked_since = rules.lock_at(CATALOG.reporting, q)
    clock.now = days_before_due(q, -45)  # locked five days ago; notify had been down, say
    assert clock.now > locked_since

    created = notify.evaluate()["created"]
    overdue = f"overdue:social:{q.year}Q{q.quarter}:1"
    day = rules.due_date(CATALOG.reporting, q) + dt.timedelta(days=45)
    digest = f"locked:-:{Quarter.containing(day)}:{day}"
    assert overdue in created and digest in created
    notify.deliver()

    (notice,) = [m for m in smtp.accepted if m["X-DGBV-Notification"] == overdue]
    assert notice["Subject"].endswith("季報已逾填報期限45日且已關閉填報，請洽管考人員重新開放（第1次通知）")
    text = notice.get_body(("plain",)).get_content()
    assert f"本季開放填報至{format_roc_date(locked_since.date())}止，現已關閉" in text
    assert "請先洽管考人員重新開放本季（電子郵件：coord-a@ntpc.example.tw、coord-b@ntpc.example.tw）" in text

    (listed,) = [m for m in smtp.accepted if m["X-DGBV-Notification"] == digest]
    assert listed["To"] == ", ".join(coordinators)
    text = listed.get_body(("plain",)).get_content()
    assert f"社會局　{q.label_zh}（未填報，已逾期 45 天，開放填報至" in text
    assert f"https://dgbv.ntpc.example.tw/overview?period={q}" in text
    assert digest not in notify.evaluate()["created"]  # one list a day
