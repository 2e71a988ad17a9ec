"""notify follows intake's change feed: a report returned, reopened or accepted is e-mailed at once,
and once, whether the follower or the daily evaluation sees it first."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from services.notify.follower import follow, stored_cursor
from services.notify.models import Evaluation
from services.notify.scheduler import build_scheduler, start, stop
from services.notify.sources import SourceUnavailable
from shared.periods import TAIPEI, Quarter, format_roc_date
from tests.helpers.processes import free_port
from tests.notify.world import CATALOG, after_lock, sqlite_only, taipei


def after_quarter(quarter: Quarter) -> dt.datetime:
    """The morning after the quarter: when the world's intake writes its reports."""
    return taipei(quarter.end + dt.timedelta(days=1), 10)


def key(rule: str, bureau: str, quarter: Quarter, revision: int) -> str:
    return f"{rule}:{bureau}:{quarter.year}Q{quarter.quarter}:{revision}"


def body(smtp, dedup_key: str) -> str:
    (message,) = [m for m in smtp.accepted if m["X-DGBV-Notification"] == dedup_key]
    return message["Subject"] + "\n" + message.get_body(("plain",)).get_content()


def test_the_follower_starts_at_the_feeds_end_then_answers_each_event_once(
    world, period, make_notify, smtp, clock
):
    q = period
    notify = make_notify()
    world.submit("health", q.year, q.quarter)  # before notify followed the feed: history
    first = follow(notify.notifier)
    assert (first.created, stored_cursor(notify.notifier)) == ([], first.cursor)

    world.return_report("health", q.year, q.quarter, "請補附宣導活動照片。")  # revision 3
    clock.now = after_quarter(q)
    returned = key("returned", "health", q, 3)
    assert follow(notify.notifier).created == [returned]
    world.sync()
    assert returned in notify.evaluate()["existing"]  # the daily evaluation finds it written
    notify.deliver()
    assert "請補附宣導活動照片。" in body(smtp, returned)

    world.submit("health", q.year, q.quarter)  # revision 4, resubmitted ...
    world.accept("health", q.year, q.quarter)  # ... and accepted (5)
    accepted = key("accepted", "health", q, 5)
    assert follow(notify.notifier).created == [accepted]
    notify.deliver()
    assert f"【已核定】{q.label_zh}數位性別暴力防治方案季報已核定" in body(smtp, accepted)

    moment = after_lock(q)
    world.reopen("health", q.year, q.quarter, "衛生局申請修正第2項具體作法之參與人次。", at=moment)
    clock.now = moment + dt.timedelta(minutes=1)
    reopened = key("reopened", "health", q, 6)
    assert follow(notify.notifier).created == [reopened]
    notify.deliver()
    closes = (moment + dt.timedelta(days=CATALOG.reporting.lock_days)).astimezone(TAIPEI)
    until = f"{format_roc_date(closes.date())} {closes:%H:%M}"  # the instant shared.rules.is_locked closes it
    text = body(smtp, reopened)
    assert f"季報已重新開放填報至{until}" in text
    assert "重新開放原因：衛生局申請修正第2項具體作法之參與人次。" in text
    assert "「已核定」，如需修正，請於開放期間內修改後填寫「修正原因」並送出修正" in text
    assert f"https://dgbv.ntpc.example.tw/reports/health/{q.year}/{q.quarter}" in text

    assert follow(notify.notifier).created == []  # nothing new: nothing written twice
    assert sorted(smtp.delivered()) == sorted([returned, accepted, reopened])


def test_a_restarted_follower_resumes_at_its_cursor_and_waits_for_intake(world, period, make_notify, clock):
    notify = make_notify()
    start_at = follow(notify.notifier).cursor
    # a change nobody is e-mailed about (a target of this test's own: the same one again is no change)
    world.target(period.year, "1.police.1", "sessions", annual=100 + period.quarter)
    clock.now = after_quarter(period)
    restarted = make_notify()
    followed = follow(restarted.notifier)
    assert followed.cursor > start_at and followed.changes >= 1 and followed.created == []

    world.submit("labor", period.year, period.quarter)
    world.return_report("labor", period.year, period.quarter, "請補正。")
    cut_off = make_notify(INTAKE_URL=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SourceUnavailable):
        follow(cut_off.notifier)
    assert stored_cursor(notify.notifier) == followed.cursor  # the page waits for the next run
    assert follow(notify.notifier).created == [key("returned", "labor", period, 3)]
    world.submit("labor", period.year, period.quarter)  # leave nothing returned for the other tests


def wait_for(smtp, dedup_key: str, since: float, timeout: float = 90) -> float:
    """Seconds from `since` until the mail server has the message."""
    while dedup_key not in smtp.delivered():
        assert time.monotonic() - since < timeout, f"{dedup_key} never arrived"
        time.sleep(0.05)
    return time.monotonic() - since


@sqlite_only
def test_a_return_and_a_reopening_reach_the_mail_server_within_seconds_without_an_evaluation(
    world, period, make_notify, smtp, clock
):
    q = period
    world.submit("education", q.year, q.quarter)
    # Only the follow job can send here: the sender's own job and the daily evaluation are far away.
    notify = make_notify(SEND_INTERVAL_SECONDS=3600, EVALUATION_CRON="0 9 1 1 *")
    follow(notify.notifier)  # where a running follower would be: the feed's end
    scheduler = build_scheduler(notify.notifier)
    start(scheduler, notify.app.config)
    delays = {}
    try:
        clock.now = after_quarter(q)
        world.return_report("education", q.year, q.quarter, "請補正第1項具體作法之辦理場次。")
        delays["returned"] = wait_for(smtp, key("returned", "education", q, 3), time.monotonic())

        moment = after_lock(q)
        clock.now = moment
        world.reopen("education", q.year, q.quarter, "同意補正。", at=moment)
        delays["reopened"] = wait_for(smtp, key("reopened", "education", q, 4), time.monotonic())
    finally:
        stop(scheduler)
    world.submit("education", q.year, q.quarter)  # leave nothing returned for the other tests
    interval = notify.app.config["FOLLOW_INTERVAL_SECONDS"]
    print(
        f"\nevent to e-mail, following every {interval} s: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in delays.items())
    )
    assert all(delay < 2 * interval + 10 for delay in delays.values()), delays  # well under a minute
    with notify.notifier.database.session(write=False) as session:
        assert session.query(Evaluation).count() == 0  # no evaluation ran: the feed did it
