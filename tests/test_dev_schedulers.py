"""`python -m services.<name>` starts its scheduler as a child, which never outlives the web server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.helpers.processes import ServiceProcess, free_port


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc: Linux only, as these machines are)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("service", ["kpi", "notify"])
def test_the_scheduler_stops_when_the_web_server_is_killed(service, tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / service}.db",
        "INTAKE_URL": f"http://127.0.0.1:{free_port()}",  # nobody there: the scheduler just retries
        "KPI_URL": f"http://127.0.0.1:{free_port()}",
        "INTAKE_TOKEN": "dgbv-test-service-token",
        "DGBV_VAR_DIR": str(tmp_path),
    }
    server = ServiceProcess([f"services.{service}"], env, free_port(), tmp_path / f"{service}.log")
    server.start()
    try:
        deadline = time.monotonic() + 20
        while not (schedulers := children_of(server.process.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert schedulers, "no scheduler child was started"
        os.kill(server.process.pid, signal.SIGKILL)  # the web server dies without a word
        server.process.wait(timeout=10)
        deadline = time.monotonic() + 20
        while any(alive(pid) for pid in schedulers) and time.monotonic() < deadline:
            time.sleep(0.2)
        survivors = [(pid, Path(f"/proc/{pid}/cmdline").read_bytes()) for pid in schedulers if alive(pid)]
        assert not survivors, survivors
    finally:
        server.stop()
