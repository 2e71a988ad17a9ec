"""Every web worker runs under a request time limit and a memory ceiling (issue 14: one workbook held a
worker 86 s and grew it to 1 GB). A real gunicorn with the services' own configuration
(services/gunicorn_conf.py) serves a small app on a port the OS chooses; it is stopped after each test."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from shared.settings import WEB_LIMITS, SettingsError, load

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def gunicorn(tmp_path: Path, **settings: str):
    """gunicorn with services/gunicorn_conf.py, one worker, on 127.0.0.1 port 0; yields its URL and log."""
    log_path = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        **settings,
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:services.gunicorn_conf",
                "--bind",
                "127.0.0.1:0",
                "tests.helpers.greedy_app:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log_path.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield found.group(1), log_path
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def answer(url: str, timeout: float = 30) -> requests.Response:
    """The first answer from a worker (a replaced worker takes a moment to start)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_request_beyond_the_memory_ceiling_fails_alone_and_the_worker_serves_on(tmp_path):
    with gunicorn(tmp_path, WEB_MEMORY_LIMIT_MB="400") as (url, _):
        worker = answer(url + "/pid").text
        assert requests.get(url + "/allocate?mb=64", timeout=30).text == "64 MB"
        refused = requests.get(url + "/allocate?mb=600", timeout=30)
        assert refused.status_code == 500
        assert requests.get(url + "/allocate?mb=64", timeout=30).text == "64 MB"
        assert requests.get(url + "/pid", timeout=10).text == worker  # the same worker, still serving


def test_without_a_ceiling_the_same_request_is_served(tmp_path):
    """The ceiling, not the machine, refused the 600 MB above."""
    with gunicorn(tmp_path, WEB_MEMORY_LIMIT_MB="2048") as (url, _):
        answer(url + "/pid")
        assert requests.get(url + "/allocate?mb=600", timeout=60).text == "600 MB"


def test_a_request_beyond_the_time_limit_ends_its_worker_and_another_serves(tmp_path):
    with gunicorn(tmp_path, WEB_TIMEOUT_SECONDS="2") as (url, log):
        worker = answer(url + "/pid").text
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/spin?seconds=120", timeout=90)
        assert f"WORKER TIMEOUT (pid:{worker})" in log.read_text()
        assert answer(url + "/pid").text != worker
        assert answer(url + "/spin?seconds=0.5").text == "done"  # a request within the limit


def test_a_busy_worker_is_not_taken_for_a_stuck_one(tmp_path):
    """Requests within the limit, back to back for longer than it, never end the worker."""
    with gunicorn(tmp_path, WEB_TIMEOUT_SECONDS="2") as (url, log):
        worker = answer(url + "/pid").text
        for _ in range(5):
            assert requests.get(url + "/spin?seconds=1", timeout=30).text == "done"
        assert requests.get(url + "/pid", timeout=10).text == worker
        assert "WORKER TIMEOUT" not in log.read_text()


@pytest.mark.parametrize(("variable", "value"), [("WEB_TIMEOUT_SECONDS", "0"), ("WEB_MEMORY_LIMIT_MB", "64")])
def test_bounds_too_small_to_serve_stop_the_service_at_start(variable, value):
    with pytest.raises(SettingsError, match=variable):
        load(WEB_LIMITS, {variable: value})
    assert load(WEB_LIMITS, {}) == {"WEB_TIMEOUT_SECONDS": 30, "WEB_MEMORY_LIMIT_MB": 512}
