"""notify as it runs for real: separate processes that restart, run side by side, and the dev stack."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from services.notify.follower import stored_cursor
from tests.helpers.processes import ROOT, ServiceProcess, free_port, run_cli
from tests.notify.world import BUREAUS, after_lock


def notify_env(world, database_url: str, smtp_port: int, **extra) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "INTAKE_URL": world.intake.url,
        "KPI_URL": world.kpi.url,
        "INTAKE_TOKEN": world.secrets["service"],
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "SMTP_FROM": "dgbv-notify@ntpc.example.tw",
        **extra,
    }


def test_a_restarted_notify_sends_each_message_once(world, period, notify_db_url, smtp):
    for bureau in BUREAUS[:-2]:
        world.submit(bureau, period.year, period.quarter)
    world.sync()
    env = notify_env(world, notify_db_url, smtp.port)
    at = ["--at", after_lock(period).isoformat()]

    first = json.loads(run_cli(["services.notify", "evaluate", *at], env))
    late = sorted(f"overdue:{b}:{period.year}Q{period.quarter}:1" for b in BUREAUS[-2:])
    assert sorted(k for k in first["created"] if f"{period.year}Q{period.quarter}" in k) == late
    sent = json.loads(run_cli(["services.notify", "send"], env))
    assert sent.get("sent") == len(first["created"]), sent
    # a new process: evaluating and sending again changes nothing
    again = json.loads(run_cli(["services.notify", "evaluate", *at], env))
    assert again["created"] == []
    assert json.loads(run_cli(["services.notify", "send"], env)) == {}
    assert sorted(smtp.delivered()) == sorted(first["created"])


def test_two_sender_processes_never_send_the_same_message_twice(
    world, make_notify, notify_db_url, smtp, clock
):
    notify = make_notify()
    for _ in range(3):  # every bureau late in three quarters: 18 messages
        quarter = world.period()
        clock.now = after_lock(quarter)
        notify.evaluate()
    expected = sorted(row.dedup_key for row in notify.rows())
    assert len(expected) >= 3 * len(BUREAUS)
    smtp.mailbox.delay = 0.2  # a server that takes its time, so the two senders overlap

    env = {**notify_env(world, notify_db_url, smtp.port), "SEND_BATCH_SIZE": "2"}
    senders = [
        subprocess.Popen(
            [sys.executable, "-m", "services.notify", "send"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    stats = [json.loads(sender.communicate(timeout=120)[0]) for sender in senders]
    assert [sender.returncode for sender in senders] == [0, 0]

    assert sorted(smtp.delivered()) == expected  # every message, each once
    assert sum(s.get("sent", 0) for s in stats) == len(expected)
    assert all(s.get("sent", 0) > 0 for s in stats), stats  # both took part
    assert set(notify.statuses().values()) == {"sent"}


def test_the_dev_stack_keeps_every_message_under_var_mail(world, period, tmp_path):
    """`make run`: the catcher, notify's web server and its scheduler (a child process)."""
    for bureau in BUREAUS[1:]:
        world.submit(bureau, period.year, period.quarter)  # only the police are late
    world.sync()
    mail = tmp_path / "mail"
    catcher_port = free_port()
    catcher = ServiceProcess(
        ["services.notify", "catcher", "--port", str(catcher_port), "--dir", str(mail)],
        {},
        catcher_port,
        tmp_path / "catcher.log",
    )
    env = notify_env(world, f"sqlite:///{tmp_path / 'notify.db'}", catcher_port, SEND_INTERVAL_SECONDS="1")
    web = ServiceProcess(["services.notify"], env, free_port(), tmp_path / "notify.log")
    try:
        catcher.start(wait_path=None)
        web.start()
        run_cli(["services.notify", "evaluate", "--at", after_lock(period).isoformat()], env)
        deadline = time.monotonic() + 30
        while not list(mail.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.1)
        files = list(mail.glob("*.eml"))
        assert len(files) == 1, web.log()
        message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
        assert message["X-DGBV-Notification"] == f"overdue:police:{period.year}Q{period.quarter}:1"
        assert message["Subject"].startswith(
            f"【逾期】{period.label_zh}數位性別暴力防治方案季報已逾填報期限35日且已關閉填報，請洽管考人員重新開放"
        )
        listed = requests.get(
            web.url + "/api/v1/notifications",
            headers={"Authorization": f"Bearer {world.secrets['coordinator']}"},
            timeout=10,
        ).json()
        assert [(n["dedup_key"], n["status"]) for n in listed] == [(message["X-DGBV-Notification"], "sent")]
        assert (
            'dgbv_notifications_sent_total{rule="overdue",rule_name="逾期"} 1.0'
            in requests.get(web.url + "/metrics").text
        )
    finally:
        web.stop()
        catcher.stop()
    assert Path(files[0]).read_bytes().startswith(b"X-Envelope-From: dgbv-notify@ntpc.example.tw")


def test_a_return_reaches_the_mail_server_as_it_commits_not_at_the_next_follow(
    world, period, make_notify, notify_db_url, smtp
):
    """notify's scheduler follows the feed only every 300 s here (and sends only every hour); a
    coordinator's return still reaches the bureau's mailbox within seconds, because the scheduler
    waits on intake's feed and intake answers it at the commit."""
    q = period
    world.submit("social", q.year, q.quarter)
    env = notify_env(
        world,
        notify_db_url,
        smtp.port,
        FOLLOW_INTERVAL_SECONDS="300",
        SEND_INTERVAL_SECONDS="3600",
        EVALUATION_CRON="0 9 1 1 *",
    )
    web = ServiceProcess(["services.notify"], env, free_port(), world.folder / "notify-follow.log")
    watcher = make_notify()  # reads the scheduler's database
    returned = f"returned:social:{q.year}Q{q.quarter}:3"
    try:
        web.start()
        deadline = time.monotonic() + 60
        while stored_cursor(watcher.notifier) is None:  # the follower's first wait: the feed's end
            assert time.monotonic() < deadline, web.log()
            time.sleep(0.1)
        started = time.monotonic()
        world.return_report("social", q.year, q.quarter, "請補附宣導活動照片。")
        while returned not in smtp.delivered():
            assert time.monotonic() - started < 60, f"no e-mail within 60 s:\n{web.log()}"
            time.sleep(0.05)
        print(f"\nreturn to e-mail, following every 300 s: {time.monotonic() - started:.1f} s")
        assert returned in {row.dedup_key for row in watcher.rows()}
    finally:
        web.stop()
    world.submit("social", q.year, q.quarter)  # leave nothing returned for the other tests
