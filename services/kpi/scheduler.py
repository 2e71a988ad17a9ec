"""The scheduler process: follow intake's change feed and keep the snapshot current.

Any number of such processes may run on PostgreSQL: one leads and runs the jobs, the others stand
by and take over when it is gone (shared/leadership.py). Web workers never sync or compute. The
job store is in memory: nothing is shared with any other process.

While leading, three things run here, one at a time (a lock):
- the follower: a long poll on intake's feed (`SYNC_WAIT_SECONDS`) that intake answers as soon as
  a change commits; each answer is applied at once, and the snapshot recomputed;
- every `SYNC_INTERVAL_SECONDS`, a cycle regardless: the fallback should the long poll fail, and
  the pace of figures that move with the clock (days overdue);
- every `RECOUNT_INTERVAL_SECONDS`, the case cells counted again from every record (a safety net
  under the counts each change moves).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from services.kpi import cells, snapshot, sync
from services.kpi.intake_client import IntakeFeed, Page, SourceUnavailable
from shared import leadership
from shared.db import log_failure
from shared.server import parent_is_gone

log = logging.getLogger(__name__)


def run_cycle(
    app: Flask,
    feed: IntakeFeed | None = None,
    max_pages: int | None = None,
    first_page: tuple[int, Page] | None = None,
) -> sync.SyncResult:
    """One sync followed by one recompute; the snapshot is recomputed even if intake is down,
    because figures such as days overdue move with the clock."""
    config, database = app.config, app.extensions["database"]
    own_feed = feed is None
    feed = feed or IntakeFeed.from_config(config)
    try:
        result = sync.sync(database, feed, config["CLOCK"](), max_pages=max_pages, first_page=first_page)
    finally:
        if own_feed:
            feed.close()
    snapshot.recompute(database, app.extensions["catalog"], now=config["CLOCK"]())
    return result


def rebuild(app: Flask) -> sync.SyncResult:
    """Forget everything read so far and read the whole feed again, then recompute."""
    sync.reset(app.extensions["database"])
    return run_cycle(app)


def recount(app: Flask) -> None:
    """Count the case cells again from every stored record, then recompute."""
    with app.extensions["database"].transaction() as session:
        cells.recount(session)
    snapshot.recompute(app.extensions["database"], app.extensions["catalog"], now=app.config["CLOCK"]())


def follow_once(app: Flask, feed: IntakeFeed, lock: threading.Lock | None = None) -> sync.SyncResult | None:
    """Wait on the feed for the next change (up to SYNC_WAIT_SECONDS) and, if one came, run a
    cycle (holding `lock`, but not while waiting) that starts from the page already read. None
    when nothing came."""
    after = sync.current_cursor(app.extensions["database"])
    page = feed.page(after, wait=app.config["SYNC_WAIT_SECONDS"])
    if not page.changes:
        return None
    with lock or contextlib.nullcontext():
        return run_cycle(app, feed, first_page=(after, page))


# How long the follower waits before asking intake again after a failure: a restart of intake
# cuts the long poll, and kpi should be back on it within seconds, not at the next interval.
RETRY_SECONDS = 5.0


def _follow(app: Flask, feed: IntakeFeed, lock: threading.Lock, stopping: threading.Event) -> None:
    pause = min(RETRY_SECONDS, app.config["SYNC_INTERVAL_SECONDS"])
    while not stopping.is_set():
        try:
            follow_once(app, feed, lock)
        except SourceUnavailable as error:
            # The interval's cycle records the outage in the sync state; here it is only retried.
            log.debug("follower: %s; trying again in %ss", error, pause)
            stopping.wait(pause)
        except Exception as error:  # noqa: BLE001 - the follower must outlive one failed cycle
            log_failure(log, "follower cycle failed", error)
            stopping.wait(pause)


def _locked(lock: threading.Lock, job, *args) -> None:
    try:
        with lock:
            job(*args)
    except Exception as error:  # noqa: BLE001 - one failed cycle must not stop the scheduler
        log_failure(log, f"{job.__name__} failed", error)


def run_scheduler(app: Flask) -> None:
    """Run until SIGTERM/SIGINT (or, under `run`, until the parent process is gone): wait to lead
    (shared/leadership.py), then follow the feed and run the interval jobs while leading."""
    interval = app.config["SYNC_INTERVAL_SECONDS"]
    lock = threading.Lock()

    def start_jobs() -> tuple[BackgroundScheduler, IntakeFeed, threading.Event, threading.Thread | None]:
        feed = IntakeFeed.from_config(app.config)
        scheduler = BackgroundScheduler(timezone=dt.UTC)
        scheduler.add_job(
            _locked,
            "interval",
            seconds=interval,
            args=[lock, run_cycle, app, feed],
            id="sync",
            name="sync",
            next_run_time=dt.datetime.now(dt.UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(interval)),
        )
        scheduler.add_job(
            _locked,
            "interval",
            seconds=app.config["RECOUNT_INTERVAL_SECONDS"],
            args=[lock, recount, app],
            id="recount",
            name="recount",
            max_instances=1,
            coalesce=True,
        )
        log.info("scheduler: syncing from %s every %ss", app.config["INTAKE_URL"], interval)
        scheduler.start()
        following, follower = threading.Event(), None
        if app.config["SYNC_WAIT_SECONDS"]:
            # Its own client: a requests session is not shared between threads. A daemon thread: on
            # shutdown its long poll is simply abandoned (nothing is half-applied: a page is one
            # transaction).
            follower = threading.Thread(
                target=_follow, args=(app, IntakeFeed.from_config(app.config), lock, following), daemon=True
            )
            follower.start()
        return scheduler, feed, following, follower

    def stop_jobs(running) -> None:
        scheduler, feed, following, follower = running
        following.set()  # the follower stops after its current wait (a page it applies finishes)
        scheduler.shutdown(wait=True)  # a cycle under way finishes
        if follower is not None:
            # Not a new leader's concern once this returns: the lock keeps a late page from
            # overlapping a cycle, and the snapshot never goes back (snapshot.py's version guard).
            follower.join(timeout=app.config["SYNC_WAIT_SECONDS"] + 5)
        feed.close()

    # The handlers only raise a flag: shutting the scheduler down inside a handler can deadlock
    # on the executor's lock that the interrupted main thread holds.
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    leadership.lead(
        leadership.Election(app.config["DATABASE_URL"], "kpi-scheduler"),
        start=start_jobs,
        stop=stop_jobs,
        stopping=stopping,
        retry_seconds=app.config["LEADER_RETRY_SECONDS"],
        should_stop=parent_is_gone,  # started by `run`, whose web server has died
    )
