"""The scheduler: the daily evaluation, the follower of intake's changes and the sender, in one
process of its own.

The follower is a thread that waits on intake's change feed (FOLLOW_WAIT_SECONDS, a long poll
intake answers as soon as a change commits), so a report returned, reopened or accepted is acted
on at once; the follow job, every FOLLOW_INTERVAL_SECONDS, is the fallback should the wait fail.

Jobs live in the notify database (APScheduler's SQLAlchemy job store), so a run
missed while the process was down is remembered: restarted within the misfire
grace time, the scheduler runs it once (coalesce). That store must never be
shared by two running schedulers: any number of scheduler processes may run on
PostgreSQL, but only the leader starts one (shared/leadership.py); the others
stand by and take over, with the stored job times, when it is gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select, text

from services.notify.delivery import deliver
from services.notify.evaluation import EvaluationFailed, evaluate
from services.notify.follower import follow, stored_cursor
from services.notify.models import Evaluation
from services.notify.service import Notifier
from services.notify.sources import Sources, SourceUnavailable
from shared import leadership
from shared.changes import ContractError
from shared.periods import TAIPEI
from shared.server import parent_is_gone

log = logging.getLogger(__name__)

EVALUATE_JOB = "notify-evaluate"
DELIVER_JOB = "notify-deliver"
FOLLOW_JOB = "notify-follow"
JOBS_TABLE = "apscheduler_jobs"  # created by migration 0001, not by the job store

EVALUATE_ON_START_JOB = "notify-evaluate-on-start"
ON_START_RETRY_SECONDS = 10
ON_START_ATTEMPTS = 30  # five minutes for intake and kpi to come up beside notify

_notifier: Notifier | None = None  # the jobs below run in this process only
_scheduler: BackgroundScheduler | None = None
# The follower thread and the follow job act one at a time; neither holds it while waiting.
_following = threading.Lock()
_follower: tuple[threading.Thread, threading.Event] | None = None
# How long the follower waits before asking intake again after a failure: a restart of intake
# cuts the long poll, and notify should be back on it within seconds, not at the next interval.
RETRY_SECONDS = 5.0


def evaluate_job() -> None:
    """The scheduled evaluation, followed at once by a delivery."""
    # A failure is logged and recorded; tomorrow's run (or one asked for) tries again.
    with contextlib.suppress(EvaluationFailed):
        evaluate(_notifier, trigger="schedule")
    deliver(_notifier)


def evaluate_on_start_job(attempt: int = 1) -> None:
    """EVALUATE_ON_START (make run): evaluate once at start, retrying while the sources come up."""
    try:
        evaluate(_notifier, trigger="start")
    except EvaluationFailed:
        if attempt < ON_START_ATTEMPTS and _scheduler is not None and _scheduler.running:
            _schedule_on_start(_scheduler, attempt + 1, ON_START_RETRY_SECONDS)
        return
    deliver(_notifier)


def _schedule_on_start(scheduler: BackgroundScheduler, attempt: int, delay: float) -> None:
    scheduler.add_job(
        evaluate_on_start_job,
        "date",
        run_date=dt.datetime.now(TAIPEI) + dt.timedelta(seconds=delay),
        args=[attempt],
        id=EVALUATE_ON_START_JOB,
        jobstore="memory",  # a one-off of this process: not worth remembering
        replace_existing=True,
        misfire_grace_time=None,
    )


def deliver_job() -> None:
    """Send whatever is due."""
    deliver(_notifier)


def follow_job() -> None:
    """Answer intake's latest changes, and send what they asked for at once."""
    try:
        _follow_and_deliver(_notifier)
    except (SourceUnavailable, ContractError) as error:  # the next run, seconds away, tries again
        log.warning("following intake's changes failed: %s", error)


def _follow_and_deliver(notifier: Notifier, stopping: threading.Event | None = None) -> None:
    with _following:
        if stopping is not None and stopping.is_set():  # stop() has returned: act no more
            return
        if follow(notifier).created:
            deliver(notifier)


def _follow_as_changes_commit(notifier: Notifier, sources: Sources, stopping: threading.Event) -> None:
    """The follower thread: wait on the feed after notify's cursor, then follow what came."""
    wait = int(notifier.config["FOLLOW_WAIT_SECONDS"])
    pause = min(RETRY_SECONDS, float(notifier.config["FOLLOW_INTERVAL_SECONDS"]))
    while not stopping.is_set():
        try:
            cursor = stored_cursor(notifier)
            # Only a wake-up call (one change is enough): follow() reads the pages itself.
            if cursor is not None and not sources.changes(cursor, 1, wait=wait)["changes"]:
                continue
            _follow_and_deliver(notifier, stopping)
        except (SourceUnavailable, ContractError) as error:  # the follow job records it in the log
            log.debug("follower: %s; trying again in %ss", error, pause)
            stopping.wait(pause)
        except Exception:  # the follower must outlive one failed run; the follow job is still there
            log.exception("the follower failed; trying again in %ss", pause)
            stopping.wait(pause)


def _start_follower(notifier: Notifier) -> None:
    global _follower
    if not notifier.config["FOLLOW_WAIT_SECONDS"]:
        return
    # Its own HTTP client: a requests session is not shared between threads. A daemon thread: on
    # stop its long poll is abandoned, and it acts on nothing after (_follow_and_deliver).
    config = notifier.config
    sources = Sources(
        config["INTAKE_URL"], config["KPI_URL"], config["INTAKE_TOKEN"], float(config["SOURCE_TIMEOUT"])
    )
    stopping = threading.Event()
    thread = threading.Thread(
        target=_follow_as_changes_commit,
        args=(notifier, sources, stopping),
        name="notify-follower",
        daemon=True,
    )
    thread.start()
    _follower = (thread, stopping)


def _stop_follower() -> None:
    global _follower
    if _follower is None:
        return
    _, stopping = _follower
    stopping.set()
    with _following:  # a run under way (and its delivery) finishes; the thread acts on nothing after
        pass
    _follower = None


def build_scheduler(notifier: Notifier) -> BackgroundScheduler:
    """A scheduler in Asia/Taipei whose jobs are stored in the notify database."""
    global _notifier, _scheduler
    _notifier = notifier
    engine = notifier.database.engine.execution_options(sqlite_begin="IMMEDIATE")
    _scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE),
            "memory": MemoryJobStore(),
        },
        executors={"default": ThreadPoolExecutor(3)},  # evaluate, follow and deliver
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=TAIPEI,
    )
    return _scheduler


def evaluation_trigger(config) -> CronTrigger:
    return CronTrigger.from_crontab(config["EVALUATION_CRON"], timezone=TAIPEI)


def _ensure_job(scheduler: BackgroundScheduler, job_id: str, func: str, trigger, **options) -> None:
    """Add a job, or update the stored one while keeping its next run time.

    add_job(replace_existing=True) would recompute the next run time from now and
    so forget a run missed while the process was down.
    """
    job = scheduler.get_job(job_id)
    if job is None:
        scheduler.add_job(func, trigger, id=job_id, name=job_id, **options)
        return
    changes = {"func": func, "name": job_id, **options}
    if str(job.trigger) != str(trigger):  # the schedule itself changed
        changes.update(
            trigger=trigger, next_run_time=trigger.get_next_fire_time(None, dt.datetime.now(TAIPEI))
        )
    scheduler.modify_job(job_id, **changes)


def start(scheduler: BackgroundScheduler, config, paused: bool = False) -> None:
    """Start with explicit job ids; due and missed-but-in-grace runs happen once, then on schedule."""
    scheduler.start(paused=True)
    _ensure_job(
        scheduler,
        EVALUATE_JOB,
        "services.notify.scheduler:evaluate_job",
        evaluation_trigger(config),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=int(config["MISFIRE_GRACE_SECONDS"]),
    )
    _ensure_job(
        scheduler,
        DELIVER_JOB,
        "services.notify.scheduler:deliver_job",
        IntervalTrigger(seconds=int(config["SEND_INTERVAL_SECONDS"]), timezone=TAIPEI),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,  # late is fine: the outbox is still there
    )
    _ensure_job(
        scheduler,
        FOLLOW_JOB,
        "services.notify.scheduler:follow_job",
        IntervalTrigger(seconds=int(config["FOLLOW_INTERVAL_SECONDS"]), timezone=TAIPEI),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,  # late is fine: the cursor is still there
    )
    log.info(
        "scheduler starting",
        extra={"jobs": {job.id: str(job.next_run_time) for job in scheduler.get_jobs()}},
    )
    if config.get("EVALUATE_ON_START"):
        _schedule_on_start(scheduler, 1, 0)
    if not paused:
        scheduler.resume()
        _start_follower(_notifier)


def stop(scheduler: BackgroundScheduler, wait: bool = True) -> None:
    """Shut down without consuming a due run.

    APScheduler's loop processes due jobs once more after shutdown(), when its
    executor no longer accepts them: the run would be marked done without running.
    Detaching the job store first leaves it for the next start.
    """
    _stop_follower()
    scheduler.pause()
    scheduler.remove_jobstore("default", shutdown=True)
    scheduler.shutdown(wait=wait)


def problems(notifier: Notifier, max_age: float) -> list[str]:
    """What is wrong with the scheduler process, judged from the database (empty if nothing)."""
    now = notifier.now()
    found = []
    with notifier.database.session(write=False) as session:
        next_runs = dict(session.execute(text(f"SELECT id, next_run_time FROM {JOBS_TABLE}")).all())
        last = session.scalar(
            select(func.max(Evaluation.finished_at)).where(
                Evaluation.trigger == "schedule", Evaluation.outcome == "ok"
            )
        )
    config = notifier.config
    late = (
        (EVALUATE_JOB, 600.0),
        (DELIVER_JOB, 10 * float(config["SEND_INTERVAL_SECONDS"]) + 60),
        (FOLLOW_JOB, 10 * float(config["FOLLOW_INTERVAL_SECONDS"]) + 60),
    )
    for job_id, late_after in late:
        if job_id not in next_runs:
            found.append(f"job {job_id} is not scheduled: the scheduler has never started")
        elif next_runs[job_id] is not None and now.timestamp() - next_runs[job_id] > late_after:
            found.append(
                f"job {job_id} is {now.timestamp() - next_runs[job_id]:.0f} s late: the scheduler is not running"
            )
    if last is not None and (now - last).total_seconds() > max_age:
        found.append(f"the last scheduled evaluation succeeded {(now - last).total_seconds():.0f} s ago")
    return found


def run_forever(notifier: Notifier) -> None:
    """The `scheduler` command: wait to lead (shared/leadership.py), run the jobs while leading,
    until SIGTERM or SIGINT."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per delivery run
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())

    def start_jobs() -> BackgroundScheduler:
        scheduler = build_scheduler(notifier)
        start(scheduler, notifier.config)
        return scheduler

    def stop_jobs(scheduler: BackgroundScheduler) -> None:
        log.info("scheduler stopping")
        stop(scheduler)  # a running delivery finishes its batch

    leadership.lead(
        leadership.Election(notifier.config["DATABASE_URL"], "notify-scheduler"),
        start=start_jobs,
        stop=stop_jobs,
        stopping=stopping,
        retry_seconds=notifier.config["LEADER_RETRY_SECONDS"],
        should_stop=parent_is_gone,  # started by `run`, whose web server has died
    )
