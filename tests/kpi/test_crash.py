"""kpi SIGKILLed in the middle of a sync resumes with no gap and no duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.helpers.processes import ROOT
from tests.intake.test_cases import record
from tests.kpi.test_sync import cursor_of, read_model

CASES = 6000


def start_sync(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "services.kpi", "sync-once"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_a_sync_killed_midway_resumes_without_gap_or_duplicate(intake, kpi_app, kpi_db_url, intake_url):
    for start in range(0, CASES, 2000):
        intake.cases(
            [record(f"K-{i:05d}", sex="female" if i % 2 else "male") for i in range(start, start + 2000)]
        )
    env = {
        "DATABASE_URL": kpi_db_url,
        "INTAKE_URL": intake_url,
        "INTAKE_TOKEN": intake.secrets["service"],
        "SYNC_PAGE_SIZE": "100",
    }
    database = kpi_app.extensions["database"]

    # Kill as soon as the first pages are committed: no fixed delay, so a fast machine cannot win.
    process = start_sync(env)
    deadline = time.monotonic() + 120
    while cursor_of(database) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert 0 < cursor_of(database) < CASES, "the kill did not land in the middle of the sync"
    reached = cursor_of(database)
    assert len(read_model(database)["cases"]) == reached  # every applied page came with its cursor

    resumed = start_sync(env)
    assert resumed.wait(timeout=300) == 0
    assert cursor_of(database) == CASES
    cases = read_model(database)["cases"]
    assert [row["key"] for row in cases] == [f"K-{i:05d}" for i in range(CASES)]
