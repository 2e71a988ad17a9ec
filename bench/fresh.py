"""Benchmark 7: fresh figures, at 10^4 and 10^6 case records, with the default settings.

a. Write to metric: a case record uploaded to intake (gunicorn, 2 workers), until kpi's /metrics
   (gunicorn, 2 workers) serves the type count it moves; kpi's scheduler runs as in production
   (`python -m services.kpi scheduler`, SYNC_INTERVAL_SECONDS 30 and SYNC_WAIT_SECONDS 25, the
   defaults). p50 and p99 of 20 writes (goal: p99 under 2 s at both sizes); the scheduler's peak
   memory (goal: flat in the number of records) and its CPU while nothing is written.
b. One cycle and one change, in process: a cycle that finds nothing new (the fallback poll's cost),
   and a cycle that applies one new record; time, CPU and peak Python memory (tracemalloc).
c. Tables 1-3 as kpi now builds them (the stored cells, then `tables.build`) against DuckDB
   counting the same rows with GROUP BY (goal: within 1.5x, or incremental and under 50 ms per
   change: b's one change).

Setup is not measured: the records are drawn from the demo data's distributions and loaded
with COPY into intake (records and their feed rows) and kpi (records, cells counted once, the
cursor at the end of the feed), as if kpi had followed intake all along; then VACUUM (ANALYZE).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, text, update

from bench.harness import Context, Figure, Served, bulk_load, gunicorn, percentile, ratio, scratch_database
from bench.kpi import CATALOG, FIRST, LAST, METRICS_TOKEN, _records
from services.intake import SERVICE_DIR as INTAKE_DIR
from services.intake import tokens
from services.intake.cases import STORED, case_change, check_record
from services.intake.models import CaseRecord, Change
from services.kpi import SERVICE_DIR as KPI_DIR
from services.kpi import cells, scheduler, sync, tables
from services.kpi import create_app as create_kpi_app
from services.kpi.intake_client import IntakeFeed
from services.kpi.models import CaseRow, SyncState
from shared import changes
from shared.db import Database
from shared.rules import case_dates

WRITES = 20


# -- setup ------------------------------------------------------------------------------------------
def _load(ctx: Context, intake_url: str, kpi_url: str, count: int) -> tuple[dict, dict[tuple, dict]]:
    """Both databases filled with `count` records; returns tokens and some records to copy."""
    now = dt.datetime.now(dt.UTC)
    dates = case_dates(CATALOG, now)
    records = _records(count, seed=7)
    position = itertools.count(1)
    templates: dict[tuple, dict] = {}  # a record of each role, sex and year, to copy
    while chunk := list(itertools.islice(records, 100_000)):
        checked = [(r["ref"], check_record(CATALOG, r, dates)) for r in chunk]
        for r in chunk:
            templates.setdefault((r["role"], r["sex"], r["date"].year), r)
        bulk_load(
            intake_url, CaseRecord.__table__, ({"ref": ref, **c, "updated_at": now} for ref, c in checked)
        )
        bulk_load(
            intake_url,
            Change.__table__,
            (
                {
                    "position": next(position),
                    "entity": "case",
                    "key": ref,
                    "data": changes.write(case_change(ref, c)),
                    "recorded_at": now,
                }
                for ref, c in checked
            ),
        )
        bulk_load(
            kpi_url,
            CaseRow.__table__,
            ({"key": ref, "year": c["occurred_on"].year, **{k: c[k] for k in STORED}} for ref, c in checked),
        )
    kpi = Database(kpi_url)
    with kpi.transaction() as session:
        cells.recount(session)
        session.execute(update(SyncState).where(SyncState.id == 1).values(cursor=count))
    kpi.dispose()
    intake = Database(intake_url)
    secrets = {}
    with intake.transaction() as session:
        for role in ("service", "statistics"):
            _, secrets[role] = tokens.mint_token(
                session, CATALOG, name=f"bench {role}", role=role, bureau=None, created_by="bench", now=now
            )
    intake.dispose()
    if ctx.backend == "postgresql":
        for url in (intake_url, kpi_url):
            database = Database(url)
            with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM (ANALYZE)"))
            database.dispose()
    return secrets, templates


# -- a. write to metric ---------------------------------------------------------------------------
def _type_counts(url: str, headers: dict) -> dict[tuple, float]:
    response = requests.get(url + "/metrics", headers=headers, timeout=10)
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "dgbv_gbv_type_count":
                labels = sample.labels
                found[(labels["type"], labels["role"], labels["sex"], labels["year"])] = sample.value
    return found


def _proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def _cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _write_record(intake_url: str, token: str, template: dict, ref: str, number: int, year: int) -> None:
    record = {
        **{k: v for k, v in template.items() if v is not None},
        "ref": ref,
        "types": [number],
        "date": dt.date(year, 6, 15).isoformat(),
    }
    response = requests.post(
        intake_url + "/api/v1/cases",
        json={"records": [record]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if response.status_code != 200:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text[:300]}")


def write_to_metric(ctx: Context, count: int) -> dict:
    with (
        scratch_database(ctx.backend, ctx.folder, f"fresh-intake-{count}", INTAKE_DIR) as intake_url,
        scratch_database(ctx.backend, ctx.folder, f"fresh-kpi-{count}", KPI_DIR) as kpi_url,
    ):
        started = time.monotonic()
        secrets, templates = _load(ctx, intake_url, kpi_url, count)
        ctx.log(f"  {count:>9,} records loaded in {time.monotonic() - started:.0f} s")
        scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        intake = gunicorn(
            "services.intake:create_app()", {"DATABASE_URL": intake_url}, ctx.folder / "f-intake.log"
        )
        env = {
            "DATABASE_URL": kpi_url,
            "INTAKE_URL": intake.url,
            "INTAKE_TOKEN": secrets["service"],
            "METRICS_TOKEN": METRICS_TOKEN,
        }
        kpi_web = scheduler_process = None
        try:
            kpi_web = gunicorn("services.kpi:create_app()", env, ctx.folder / "f-kpi.log")
            scheduler_process = Served(
                [sys.executable, "-m", "services.kpi", "scheduler"], env, ctx.folder / "f-scheduler.log"
            )
            deadline = time.monotonic() + 300
            while not (counts := _type_counts(kpi_web.url, scrape)):
                if time.monotonic() > deadline:
                    raise TimeoutError("kpi computed no snapshot:\n" + scheduler_process.log())
                time.sleep(0.5)
            # The largest cell, so the small-cell rule never withholds it.
            (number, role, sex, year), _ = max(counts.items(), key=lambda item: item[1])
            template = templates[(role, sex, int(year))]
            time.sleep(2)  # the scheduler's first cycle is over; it waits on the feed now
            pid = scheduler_process.process.pid
            latencies = []
            for write in range(WRITES):
                before = _type_counts(kpi_web.url, scrape)[(number, role, sex, year)]
                _write_record(
                    intake.url, secrets["statistics"], template, f"FRESH-{write:03d}", int(number), int(year)
                )
                acknowledged = time.perf_counter()
                while _type_counts(kpi_web.url, scrape).get((number, role, sex, year)) != before + 1:
                    if time.perf_counter() - acknowledged > 120:
                        raise TimeoutError("the write never reached /metrics:\n" + scheduler_process.log())
                    time.sleep(0.02)
                latencies.append(time.perf_counter() - acknowledged)
                time.sleep(0.5)
            idle_cpu = _cpu_seconds(pid)
            time.sleep(10)
            idle_cpu = (_cpu_seconds(pid) - idle_cpu) / 10
            memory = _proc_status(pid)
        finally:
            for process in (scheduler_process, kpi_web, intake):
                if process is not None:
                    process.stop()
        ctx.log(
            f"  {count:>9,} records: write to metric p50 {statistics.median(latencies):.2f} s, "
            f"p99 {percentile(latencies, 0.99):.2f} s; scheduler peak {memory['VmHWM'] / 1024:.0f} MiB, "
            f"idle CPU {idle_cpu * 100:.1f}% of a core"
        )
        return {
            "records": count,
            "p50": statistics.median(latencies),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies),
            "peak_kib": memory["VmHWM"],
            "rss_kib": memory["VmRSS"],
            "idle_cpu_share": idle_cpu,
        }


# -- b. one cycle, one change; c. the tables against DuckDB ---------------------------------------
def _measured(function, before=lambda: None) -> dict:
    """Wall and CPU time of one call, then the peak traced Python memory of a second call (tracing
    slows the call it watches); `before` runs ahead of each call, unmeasured."""
    before()
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    result = {"seconds": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    before()
    tracemalloc.start()
    try:
        function()
        result["peak_bytes"] = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result


def kpi_tables(database: Database) -> dict:
    """Tables 1-3 as kpi builds them now: the stored cells, then the layouts."""
    with database.session(write=False) as session:
        case_cells, type_cells = cells.read(session)
    return {
        (kind, category): tables.build(kind, CATALOG, case_cells, type_cells, category, FIRST.year, LAST.year)
        for kind, category in (
            ("suspects", "secret_filming"),
            ("suspects", "obscene_distribution"),
            ("victims", "secret_filming"),
            ("types", None),
        )
    }


def duckdb_counts(connection) -> tuple[list, list]:
    """The same cells counted by DuckDB with GROUP BY."""
    case_cells = connection.execute(
        "SELECT year, category, role, sex, age_band, cause, relationship, count(*) FROM cases GROUP BY ALL"
    ).fetchall()
    type_cells = connection.execute(
        "SELECT year, category, role, sex, t, count(*) FROM (SELECT *, unnest(types) AS t FROM cases) "
        "GROUP BY ALL"
    ).fetchall()
    return case_cells, type_cells


def cycle_and_tables(ctx: Context, count: int) -> dict:
    with (
        scratch_database(ctx.backend, ctx.folder, f"cycle-intake-{count}", INTAKE_DIR) as intake_url,
        scratch_database(ctx.backend, ctx.folder, f"cycle-kpi-{count}", KPI_DIR) as kpi_url,
    ):
        secrets, templates = _load(ctx, intake_url, kpi_url, count)
        intake = gunicorn(
            "services.intake:create_app()", {"DATABASE_URL": intake_url}, ctx.folder / "c-intake.log"
        )
        try:
            app = create_kpi_app(
                {"DATABASE_URL": kpi_url, "INTAKE_URL": intake.url, "INTAKE_TOKEN": secrets["service"]}
            )
            feed = IntakeFeed.from_config(app.config)
            scheduler.run_cycle(app, feed)  # warm up
            idle = _measured(lambda: scheduler.run_cycle(app, feed))
            (_, _, year), template = next(iter(templates.items()))
            written = itertools.count()

            def write():
                _write_record(intake.url, secrets["statistics"], template, f"CYCLE-{next(written)}", 1, year)

            def one_change():
                result = scheduler.run_cycle(app, feed)
                if result.changes != 1:
                    raise RuntimeError(f"expected one change, got {result}")

            change = _measured(one_change, before=write)
            # The part that moves with the change: applying it (the record and its cells); the
            # rest of a cycle is the page's HTTP request and the snapshot's recompute.
            write()
            database = app.extensions["database"]
            page = feed.page(sync.current_cursor(database))
            started = time.perf_counter()
            if not sync.apply_page(database, sync.current_cursor(database), page):
                raise RuntimeError("the page could not be applied")
            change["apply_seconds"] = time.perf_counter() - started
            scheduler.run_cycle(app, feed)
            kpi_tables(database)
            kpi_seconds = min(timed_run(lambda: kpi_tables(database)) for _ in range(3))
            with database.engine.connect() as connection:
                rows = connection.execute(select(*cells.RECORD_COLUMNS)).all()
            feed.close()
            database.dispose()
        finally:
            intake.stop()
    import duckdb  # a bench-only extra (make bench installs it): imported here, so the smoke test needs none

    frame = pd.DataFrame(rows, columns=[column.name for column in cells.RECORD_COLUMNS])
    del rows
    duck = duckdb.connect()
    duck.execute("CREATE TABLE cases AS SELECT * FROM frame")
    del frame
    duck_cells = duckdb_counts(duck)
    duck_seconds = min(timed_run(lambda: duckdb_counts(duck)) for _ in range(3))
    duck.close()
    if sum(row[-1] for row in duck_cells[0]) != count + 3:
        raise RuntimeError("DuckDB counted other records than kpi holds")
    ctx.log(
        f"  {count:>9,} records: idle cycle {idle['seconds'] * 1000:.0f} ms ({idle['cpu'] * 1000:.0f} ms CPU), "
        f"one change {change['seconds'] * 1000:.0f} ms ({change['cpu'] * 1000:.0f} ms CPU, applied in "
        f"{change['apply_seconds'] * 1000:.1f} ms, "
        f"peak {change['peak_bytes'] / 2**20:.1f} MiB); tables {kpi_seconds * 1000:.1f} ms, "
        f"DuckDB {duck_seconds * 1000:.1f} ms"
    )
    return {
        "records": count,
        "idle": idle,
        "change": change,
        "tables": kpi_seconds,
        "duckdb": duck_seconds,
        "duckdb_cells": len(duck_cells[0]),
    }


def timed_run(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def figures(fresh: list[dict], cycles: dict) -> list[Figure]:
    small, large = fresh[0], fresh[-1]
    out = [
        Figure(
            "7a. write to metric (defaults)",
            f"p99 latency at {r['records']:,} records",
            r["p99"] * 1000,
            "ms",
            "p50 of the same writes",
            r["p50"] * 1000,
            ratio(r["p99"], r["p50"]),
            "p99 < 2 s",
            r["p99"] < 2,
            r,
        )
        for r in fresh
    ]
    memory_ratio = ratio(large["peak_kib"], small["peak_kib"])
    out.append(
        Figure(
            "7a. scheduler memory",
            f"peak RSS at {large['records']:,} records",
            large["peak_kib"] / 1024,
            "MiB",
            f"peak RSS at {small['records']:,} records",
            small["peak_kib"] / 1024,
            memory_ratio,
            "flat (ratio <= 1.25)",
            memory_ratio is not None and memory_ratio <= 1.25,
        )
    )
    out.append(
        Figure(
            "7a. scheduler CPU with no writes",
            f"share of a core at {large['records']:,} records",
            large["idle_cpu_share"] * 100,
            "%",
            f"at {small['records']:,} records",
            small["idle_cpu_share"] * 100,
            ratio(large["idle_cpu_share"], small["idle_cpu_share"]),
            None,
            None,
        )
    )
    c = cycles
    out += [
        Figure(
            "7b. one scheduler cycle, nothing new",
            f"time at {c['records']:,} records",
            c["idle"]["seconds"] * 1000,
            "ms",
            "its CPU time",
            c["idle"]["cpu"] * 1000,
            None,
            None,
            None,
            c["idle"],
        ),
        Figure(
            "7b. one scheduler cycle, one new record",
            f"time at {c['records']:,} records",
            c["change"]["seconds"] * 1000,
            "ms",
            "its CPU time",
            c["change"]["cpu"] * 1000,
            None,
            None,
            None,
            c["change"],
        ),
        Figure(
            "7b. one new record applied (the record and its cells)",
            f"time at {c['records']:,} records",
            c["change"]["apply_seconds"] * 1000,
            "ms",
            "the whole cycle it is part of",
            c["change"]["seconds"] * 1000,
            ratio(c["change"]["apply_seconds"], c["change"]["seconds"]),
            "< 50 ms per change",
            c["change"]["apply_seconds"] < 0.05,
        ),
        Figure(
            "7c. Tables 1-3 from the stored cells",
            f"time at {c['records']:,} records",
            c["tables"] * 1000,
            "ms",
            "DuckDB: GROUP BY of the same rows (in memory)",
            c["duckdb"] * 1000,
            ratio(c["tables"], c["duckdb"]),
            "<= 1.5 (within 1.5x)",
            c["tables"] <= 1.5 * c["duckdb"],
        ),
    ]
    return out


def run(ctx: Context) -> list[Figure]:
    sizes = (
        [1_000, 5_000]
        if ctx.tiny
        else [int(n) for n in os.environ.get("BENCH_FRESH_SIZES", "10000,1000000").split(",")]
    )
    ctx.log("7. fresh figures")
    fresh = [write_to_metric(ctx, count) for count in sizes]
    cycles = cycle_and_tables(ctx, sizes[-1])
    return figures(fresh, cycles)
