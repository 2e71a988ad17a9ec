"""Benchmark 8: intake's writes against the floor of a durable write on the same database.

8a. Report saves (16 clients, as in benchmark 1) against a bare Flask app on its own gunicorn (2
    workers) that parses the same JSON and stores it with one INSERT and a COMMIT (bench/apps.py,
    `durable_write`): what a save costs beyond the cheapest write that survives a crash.
8b. Case records uploaded through the CSV endpoint (as in benchmark 2) against PostgreSQL's COPY of
    the same rows into the same table (on SQLite, which has no COPY: one executemany).
"""

from __future__ import annotations

from sqlalchemy import create_engine, delete, text

from bench.harness import Context, Figure, bulk_load, gunicorn, ratio, scratch_database, timed
from bench.intake import (
    _open_plan,
    _tokens,
    alternate,
    case_rows,
    csv_bodies,
    load_sizes,
    saving_clients,
    upload_csv,
)
from bench.load import Client
from services.intake import SERVICE_DIR as INTAKE_DIR
from services.intake.models import CaseRecord
from shared.db import normalise_url

SAVES = "8a. report saves against a minimal durable write"
UPLOAD = "8b. case upload against COPY"


def _make_write_table(url: str) -> None:
    engine = create_engine(normalise_url(url))
    key = "bigserial PRIMARY KEY" if engine.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE bench_writes (id {key}, body text NOT NULL)"))
    engine.dispose()


def saves_against_a_durable_write(ctx: Context, intake, floor, secrets: dict[str, str]) -> list[Figure]:
    clients_count, warmup, duration, rounds = load_sizes(ctx)
    saves = saving_clients(intake.port, secrets, clients_count)
    writes = [Client("PUT", "/write", {"Content-Type": "application/json"}, c.body) for c in saves]
    merged = alternate(ctx, {"write": (floor, writes), "saves": (intake, saves)}, warmup, duration, rounds)
    if merged["saves"]["errors"] or merged["write"]["errors"] or not merged["saves"]["requests"]:
        raise RuntimeError(f"saves or writes failed: {merged}")
    saved, written = merged["saves"], merged["write"]
    details = {
        "clients": clients_count,
        "seconds_each": duration * rounds,
        "workers": 2,
        **{f"{name}_{key}": value for name in ("saves", "write") for key, value in merged[name].items()},
    }
    figures = [
        Figure(
            SAVES,
            "requests per second",
            saved["rps"],
            "req/s",
            "bare Flask + one INSERT + COMMIT (same body, same database)",
            written["rps"],
            ratio(saved["rps"], written["rps"]),
            None,
            None,
            details,
        ),
        Figure(
            SAVES,
            "p50 latency",
            saved["p50"],
            "ms",
            "the durable write's p50",
            written["p50"],
            ratio(saved["p50"], written["p50"]),
            None,
            None,
            details,
        ),
    ]
    if saved["worker_cpu_ms_per_request"] and written["worker_cpu_ms_per_request"]:
        figures.append(
            Figure(
                SAVES,
                "workers' CPU per request",
                saved["worker_cpu_ms_per_request"],
                "ms",
                "the durable write's CPU per request",
                written["worker_cpu_ms_per_request"],
                ratio(saved["worker_cpu_ms_per_request"], written["worker_cpu_ms_per_request"]),
                None,
                None,
                details,
            )
        )
    return figures


def upload_against_copy(ctx: Context, port: int, url: str, secrets: dict[str, str]) -> list[Figure]:
    count, batch = (2_000, 1_000) if ctx.tiny else (100_000, 10_000)
    records, rows = case_rows(count)
    table = CaseRecord.__table__
    copy_seconds, _ = timed(bulk_load, url, table, rows)
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(delete(table))
        if engine.dialect.name == "postgresql":  # no dead rows left for the upload to step over
            connection.execute(text("VACUUM (ANALYZE) case_records"))
    engine.dispose()
    ctx.log(
        f"  {'COPY' if ctx.backend == 'postgresql' else 'executemany'}: {count} rows in {copy_seconds:.2f} s"
    )
    bodies = csv_bodies(records, batch)
    upload_seconds, _ = timed(upload_csv, port, secrets["statistics"], bodies, batch)
    ctx.log(f"  CSV upload: {count} records in {upload_seconds:.2f} s")
    value, baseline = count / upload_seconds, count / copy_seconds
    floor = (
        "COPY of the same rows into the same table"
        if ctx.backend == "postgresql"
        else "one executemany of the same rows (SQLite has no COPY)"
    )
    return [
        Figure(
            UPLOAD,
            "records per second",
            value,
            "rec/s",
            floor,
            baseline,
            ratio(value, baseline),
            None,
            None,
            {
                "records": count,
                "per_request": batch,
                "seconds": upload_seconds,
                "baseline_seconds": copy_seconds,
            },
        )
    ]


def run(ctx: Context) -> list[Figure]:
    with scratch_database(ctx.backend, ctx.folder, "floors", INTAKE_DIR) as url:
        secrets = _tokens(url)
        _make_write_table(url)
        env = {
            "DATABASE_URL": url,
            "DGBV_CATALOG": str(_open_plan(ctx.folder)),
            "DGBV_VAR_DIR": str(ctx.folder),
        }
        intake = gunicorn("services.intake:create_app()", env, ctx.folder / "floors-intake.log")
        try:
            floor = gunicorn("bench.apps:durable_write()", env, ctx.folder / "floors-write.log")
            try:
                ctx.log("8a. report saves against a minimal durable write")
                figures = saves_against_a_durable_write(ctx, intake, floor, secrets)
            finally:
                floor.stop()
            ctx.log("8b. case upload against COPY")
            figures += upload_against_copy(ctx, intake.port, url, secrets)
        finally:
            intake.stop()
    return figures
