"""The scheduler with its job store in the notify database: explicit ids, Taipei time, misfires.

APScheduler runs on real time, so these tests move the stored next run time instead
of the clock: a process that stopped before 09:00 and restarts at 09:05 finds the
09:00 run in its job store, five minutes late.
"""

from __future__ import annotations

import datetime as dt
import threading

from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

from services.notify.models import Evaluation
from services.notify.scheduler import (
    DELIVER_JOB,
    EVALUATE_JOB,
    EVALUATE_ON_START_JOB,
    FOLLOW_JOB,
    build_scheduler,
    problems,
    start,
    stop,
)
from shared.periods import TAIPEI
from shared.settings import utc_now
from tests.helpers.processes import free_port
from tests.notify.world import sqlite_only


def scheduled_evaluations(notify) -> list[Evaluation]:
    with notify.notifier.database.session(write=False) as session:
        return session.query(Evaluation).filter_by(trigger="schedule").all()


def stopped_before(notify, when: dt.datetime) -> None:
    """Run a scheduler once, then leave the evaluation due at `when`, as a process that died then."""
    scheduler = build_scheduler(notify.notifier)
    start(scheduler, notify.app.config, paused=True)
    scheduler.modify_job(EVALUATE_JOB, next_run_time=when)
    stop(scheduler)


def restart_and_watch(notify, event_mask: int, job_id: str = EVALUATE_JOB) -> tuple:
    """Start a scheduler again and wait for the job's first event of `event_mask`."""
    seen = threading.Event()
    events = []

    def listener(event):
        if event.job_id == job_id:
            events.append(event)
            seen.set()

    scheduler = build_scheduler(notify.notifier)
    scheduler.add_listener(listener, event_mask)
    start(scheduler, notify.app.config)
    assert seen.wait(20), "the evaluation job neither ran nor was skipped"
    return scheduler, events


@sqlite_only
def test_the_jobs_have_explicit_ids_and_the_evaluation_runs_daily_at_nine_in_taipei(world, make_notify):
    notify = make_notify(CLOCK=utc_now)
    scheduler = build_scheduler(notify.notifier)
    start(scheduler, notify.app.config)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {EVALUATE_JOB, DELIVER_JOB, FOLLOW_JOB}
        evaluation = jobs[EVALUATE_JOB]
        next_run = evaluation.next_run_time.astimezone(TAIPEI)
        now = dt.datetime.now(TAIPEI)
        assert (next_run.hour, next_run.minute) == (9, 0)
        assert now < next_run <= now + dt.timedelta(days=1)
        assert evaluation.coalesce and evaluation.max_instances == 1
        assert evaluation.misfire_grace_time == 12 * 3600
        assert problems(notify.notifier, max_age=3600) == []
    finally:
        stop(scheduler)


def test_a_restart_at_0905_still_runs_the_0900_evaluation_once(world, make_notify):
    notify = make_notify()
    stopped_before(notify, dt.datetime.now(TAIPEI) - dt.timedelta(minutes=5))

    scheduler, events = restart_and_watch(notify, EVENT_JOB_EXECUTED)
    try:
        assert events[0].exception is None
        assert len(scheduled_evaluations(notify)) == 1
        next_run = scheduler.get_job(EVALUATE_JOB).next_run_time.astimezone(TAIPEI)
        assert (next_run.hour, next_run.minute) == (9, 0) and next_run > dt.datetime.now(TAIPEI)
    finally:
        stop(scheduler)
    assert len(scheduled_evaluations(notify)) == 1  # coalesced: once, not once per missed day


@sqlite_only
def test_days_missed_while_down_run_once(world, make_notify):
    notify = make_notify()
    stopped_before(notify, dt.datetime.now(TAIPEI) - dt.timedelta(days=3, minutes=5))
    notify_grace = make_notify(
        MISFIRE_GRACE_SECONDS=4 * 24 * 3600, DATABASE_URL=notify.app.config["DATABASE_URL"]
    )
    scheduler, _ = restart_and_watch(notify_grace, EVENT_JOB_EXECUTED)
    stop(scheduler)
    assert len(scheduled_evaluations(notify)) == 1


@sqlite_only
def test_a_run_missed_by_more_than_the_grace_time_is_skipped(world, make_notify):
    notify = make_notify(MISFIRE_GRACE_SECONDS=60)
    stopped_before(notify, dt.datetime.now(TAIPEI) - dt.timedelta(minutes=5))

    scheduler, events = restart_and_watch(notify, EVENT_JOB_MISSED | EVENT_JOB_EXECUTED)
    try:
        assert events[0].code == EVENT_JOB_MISSED
        assert scheduler.get_job(EVALUATE_JOB).next_run_time > dt.datetime.now(TAIPEI)
    finally:
        stop(scheduler)
    assert scheduled_evaluations(notify) == []


@sqlite_only
def test_the_health_check_notices_a_scheduler_that_is_not_running(world, make_notify):
    notify = make_notify(CLOCK=utc_now)
    assert problems(notify.notifier, max_age=3600) == [
        "job notify-evaluate is not scheduled: the scheduler has never started",
        "job notify-deliver is not scheduled: the scheduler has never started",
        "job notify-follow is not scheduled: the scheduler has never started",
    ]
    stopped_before(notify, dt.datetime.now(TAIPEI) - dt.timedelta(hours=1))
    found = problems(notify.notifier, max_age=3600)
    assert len(found) == 1 and found[0].startswith("job notify-evaluate is 36")


@sqlite_only
def test_make_run_evaluates_once_at_start_and_retries_while_the_sources_come_up(world, make_notify):
    notify = make_notify(EVALUATE_ON_START=True)
    scheduler, events = restart_and_watch(notify, EVENT_JOB_EXECUTED, EVALUATE_ON_START_JOB)
    stop(scheduler)
    assert events[0].exception is None
    with notify.notifier.database.session(write=False) as session:
        assert [e.trigger for e in session.query(Evaluation)] == ["start"]

    down = make_notify(EVALUATE_ON_START=True, KPI_URL=f"http://127.0.0.1:{free_port()}")
    scheduler, _ = restart_and_watch(down, EVENT_JOB_EXECUTED, EVALUATE_ON_START_JOB)
    try:
        assert scheduler.get_job(EVALUATE_ON_START_JOB).args == (2,)  # tried again in 10 s
    finally:
        stop(scheduler)
