"""The scheduler process: sync from intake, then recompute the snapshot, every interval.

Any number of such processes may run on PostgreSQL: one leads and runs the cycles, the others
stand by and take over when it is gone (shared/leadership.py). Web workers never sync or compute.
The job store is in memory: nothing is shared with any other process.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from services.kpi import snapshot, sync
from services.kpi.intake_client import IntakeFeed
from shared import leadership
from shared.db import log_failure
from shared.server import parent_is_gone

log = logging.getLogger(__name__)


def run_cycle(app: Flask, feed: IntakeFeed | None = None, max_pages: int | None = None) -> sync.SyncResult:
    """One sync followed by one recompute; the snapshot is recomputed even if intake is down,
    because figures such as days overdue move with the clock."""
    config, database = app.config, app.extensions["database"]
    own_feed = feed is None
    feed = feed or IntakeFeed.from_config(config)
    try:
        result = sync.sync(database, feed, config["CLOCK"](), max_pages=max_pages)
    finally:
        if own_feed:
            feed.close()
    snapshot.recompute(database, app.extensions["catalog"], now=config["CLOCK"]())
    return result


def rebuild(app: Flask) -> sync.SyncResult:
    """Forget everything read so far and read the whole feed again, then recompute."""
    sync.reset(app.extensions["database"])
    return run_cycle(app)


def _cycle_job(app: Flask, feed: IntakeFeed) -> None:
    try:
        run_cycle(app, feed)
    except Exception as error:  # noqa: BLE001 - one failed cycle must not stop the scheduler
        log_failure(log, "sync cycle failed", error)


def run_scheduler(app: Flask) -> None:
    """Run until SIGTERM/SIGINT (or, under `run`, until the parent process is gone): wait to lead
    (shared/leadership.py), then sync and recompute every interval while leading."""
    interval = app.config["SYNC_INTERVAL_SECONDS"]

    def start_jobs() -> tuple[BackgroundScheduler, IntakeFeed]:
        feed = IntakeFeed.from_config(app.config)
        scheduler = BackgroundScheduler(timezone=dt.UTC)
        scheduler.add_job(
            _cycle_job,
            "interval",
            seconds=interval,
            args=[app, feed],
            id="sync",
            next_run_time=dt.datetime.now(dt.UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(interval)),
        )
        log.info("scheduler: syncing from %s every %ss", app.config["INTAKE_URL"], interval)
        scheduler.start()
        return scheduler, feed

    def stop_jobs(running: tuple[BackgroundScheduler, IntakeFeed]) -> None:
        scheduler, feed = running
        scheduler.shutdown(wait=True)  # a cycle under way finishes
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
