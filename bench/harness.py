"""What every benchmark needs: scratch databases, served processes, timing, figures, the machine.

A figure is always measured beside a baseline in the same run, and reported as a ratio to it,
so that it holds on a noisy machine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared import migrations
from shared.db import normalise_url

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Figure:
    """One measured figure and the baseline it is compared with."""

    benchmark: str
    name: str
    value: float
    unit: str
    baseline: str | None = None
    baseline_value: float | None = None
    ratio: float | None = None  # value / baseline_value
    goal: str | None = None
    met: bool | None = None
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def ratio(value: float, baseline: float) -> float | None:
    return value / baseline if baseline else None


def percentile(values: list[float], share: float) -> float:
    """The value under which `share` of the values fall (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def timed(function: Callable, *args, **kwargs) -> tuple[float, object]:
    """Seconds taken by one call, and its result."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def median_time(function: Callable, repeat: int) -> float:
    return statistics.median(timed(function)[0] for _ in range(repeat))


# -- the machine -----------------------------------------------------------------------------
def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _postgres_version(url: str | None) -> str | None:
    if not url:
        return None
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            return connection.execute(text("SHOW server_version")).scalar()
    finally:
        engine.dispose()


def _git_commit() -> str | None:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    return None


def machine(postgres_url: str | None) -> dict:
    """What the figures were measured on."""
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_version(postgres_url),
        "commit": _git_commit(),
    }


# -- databases --------------------------------------------------------------------------------
def postgres_server() -> str | None:
    """The PostgreSQL server to measure on ($BENCH_POSTGRES_URL, else the local one), if it answers."""
    url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    engine = create_engine(normalise_url(url), pool_pre_ping=False)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return url
    except Exception:  # noqa: BLE001 - any failure means: no PostgreSQL here
        return None
    finally:
        engine.dispose()


@contextlib.contextmanager
def scratch_database(backend: str, folder: Path, name: str, service_dir: Path | None = None) -> Iterator[str]:
    """A new, migrated database of one service, removed afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / f'{name}-{uuid.uuid4().hex[:8]}.db'}"
        if service_dir is not None:
            migrations.upgrade(service_dir, url)
        yield url
        return
    server = postgres_server()
    if server is None:
        raise RuntimeError("PostgreSQL does not answer: set BENCH_POSTGRES_URL or use the sqlite backend")
    database = f"dgbv_bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    url = make_url(normalise_url(server)).set(database=database).render_as_string(hide_password=False)
    try:
        if service_dir is not None:
            migrations.upgrade(service_dir, url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


# -- served processes -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """A process started for a benchmark (gunicorn, a CLI), in its own process group."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        log = open(log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(self.port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def wait_until_up(self, path: str = "/healthz", timeout: float = 60) -> Served:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + path, timeout=1).status_code < 500:
                    return self
            time.sleep(0.1)
        raise TimeoutError(f"{self.url}{path} did not answer:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def cpu_seconds(self) -> float:
        """CPU time used so far by this process's children (gunicorn's workers), from /proc."""
        total = 0
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            for child in children:
                with contextlib.suppress(OSError):
                    fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                    total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop this process and what it started (gunicorn's workers), by its process group."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def gunicorn(app: str, env: dict[str, str], log_path: Path, workers: int = 2) -> Served:
    """`gunicorn -c python:services.gunicorn_conf <app>`, as in production, with `workers` workers."""
    multiproc = tempfile.mkdtemp(prefix="dgbv-bench-prometheus-")
    served = Served(
        [sys.executable, "-m", "gunicorn", "-c", "python:services.gunicorn_conf", app],
        {**env, "WEB_WORKERS": str(workers), "PROMETHEUS_MULTIPROC_DIR": multiproc},
        log_path,
    )
    return served.wait_until_up()


@dataclass
class Context:
    """Where a run keeps its scratch files, and on which backend it measures."""

    folder: Path
    backend: str  # "postgresql" or "sqlite"
    tiny: bool
    log: Callable[[str], None] = print
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def bulk_load(url: str, table, rows) -> None:
    """Load rows fast for a benchmark's setup (never for what it measures): PostgreSQL's COPY, or
    executemany on SQLite. `rows` are dicts with every column of `table` but the id."""
    import json

    from shared.db import Database

    database = Database(url)
    columns = [c.name for c in table.columns if c.name != "id"]
    json_columns = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
    iterator = iter(rows)
    try:
        if database.engine.dialect.name != "postgresql":
            with database.engine.begin() as connection:
                while chunk := list(itertools.islice(iterator, 20_000)):
                    connection.execute(table.insert(), chunk)
            return
        connection = database.engine.raw_connection()
        try:
            with connection.cursor() as cursor:
                names = ", ".join(columns)
                with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                    for row in iterator:
                        copy.write_row([json.dumps(row[c]) if c in json_columns else row[c] for c in columns])
            connection.commit()
        finally:
            connection.close()
    finally:
        database.dispose()
