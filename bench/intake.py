"""Benchmarks 1 and 2: intake under gunicorn (2 workers), as deployed.

1. Report saves over HTTP, 16 concurrent clients, against a bare Flask endpoint on the same server
   that parses the same JSON and returns it (goal: at least 0.5 of its requests per second).
2. A bulk upload of 100,000 case records through the CSV endpoint, against inserting the same rows
   with one executemany on the same database (goal: at least 0.3 of its records per second).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import requests
import yaml
from sqlalchemy import delete, insert

from bench import load
from bench.harness import Context, Figure, gunicorn, percentile, ratio, scratch_database, timed
from services.intake import SERVICE_DIR as INTAKE_DIR
from services.intake import demo, tokens
from services.intake.cases import FIELDS, STORED, check_record
from services.intake.models import CaseRecord
from shared.catalog import DEFAULT_CATALOG_PATH, default_catalog
from shared.db import Database
from shared.periods import TAIPEI, Quarter
from shared.rules import case_dates

CATALOG = default_catalog()
# The upload's columns, given the age band rather than the age.
CSV_COLUMNS = tuple(name for name in FIELDS if name != "age")


def _tokens(url: str) -> dict[str, str]:
    """A token for each bureau and one for the statistics office."""
    database = Database(url)
    secrets = {}
    now = dt.datetime.now(dt.UTC)
    with database.transaction() as session:
        for bureau in CATALOG.bureaus:
            _, secrets[bureau.id] = tokens.mint_token(
                session,
                CATALOG,
                name=f"bench {bureau.id}",
                role="bureau",
                bureau=bureau.id,
                created_by="bench",
                now=now,
            )
        _, secrets["statistics"] = tokens.mint_token(
            session,
            CATALOG,
            name="bench statistics",
            role="statistics",
            bureau=None,
            created_by="bench",
            now=now,
        )
    database.dispose()
    return secrets


def _report_body(bureau: str) -> bytes:
    """A complete report of the bureau; %N% makes each save a real change (a new revision)."""
    body = {
        "narrative": "本季依計畫辦理宣導與防治工作。第 %N% 次儲存。",
        "actions": [
            {
                "action": action.id,
                "values": {metric.id: 12 for metric in action.metrics if not metric.by_sex},
                "by_sex": {m.id: {"male": 5, "female": 6, "other": 1} for m in action.metrics if m.by_sex},
                "note": "板橋、三重",
            }
            for action in CATALOG.actions_for(bureau)
        ],
    }
    return json.dumps(body, ensure_ascii=False).encode()


def load_sizes(ctx: Context) -> tuple[int, float, float, int]:
    """Clients, warm-up seconds, measured seconds per round, rounds."""
    return (4, 0.2, 1.0, 1) if ctx.tiny else (16, 2.0, 12.0, 2)


def saving_clients(port: int, secrets: dict[str, str], count: int) -> list[load.Client]:
    """`count` clients each saving their own bureau's report of their own quarter, over and over;
    each report is created first, so every timed save is a conditional write (If-Match: *)."""
    today = dt.datetime.now(TAIPEI).date()
    quarters, quarter = [], CATALOG.reporting.first_quarter
    while quarter.start <= today:
        quarters.append(quarter)
        quarter = quarter.next()
    bureaus = [b.id for b in CATALOG.bureaus]
    clients = []
    for index in range(count):
        bureau, quarter = bureaus[index % len(bureaus)], quarters[-1 - index // len(bureaus)]
        body = _report_body(bureau)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {secrets[bureau]}"}
        path = f"/api/v1/reports/{bureau}/{quarter.year}/{quarter.quarter}"
        created = requests.put(
            f"http://127.0.0.1:{port}{path}", data=body.replace(b"%N%", b"0"), headers=headers, timeout=60
        )
        if created.status_code != 200:
            raise RuntimeError(f"creating {path} failed: {created.status_code} {created.text[:300]}")
        clients.append(load.Client("PUT", path, {**headers, "If-Match": "*"}, body))
    return clients


def alternate(ctx: Context, loads: dict[str, tuple], warmup: float, duration: float, rounds: int) -> dict:
    """Run each load ({name: (server, clients)}) in turn, `rounds` times, so that a slow spell of
    the machine hits them all; per load: rps, p50 and p99 (ms), errors, and the workers' CPU."""
    outcome = {name: [] for name in loads}
    cpu = dict.fromkeys(loads, 0.0)  # the workers' CPU seconds, warm-up included
    for _ in range(rounds):
        for name, (server, clients) in loads.items():
            before = server.cpu_seconds()
            outcome[name].append(load.run(server.port, clients, warmup, duration))
            cpu[name] += server.cpu_seconds() - before
    merged = {}
    for name, runs in outcome.items():
        latencies = [x for run in runs for x in run.latencies]
        sent = sum(run.requests_per_second * (duration + warmup) for run in runs)
        merged[name] = {
            "rps": sum(run.requests_per_second for run in runs) / len(runs),
            "p50": percentile(latencies, 0.50) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "errors": sum(run.errors for run in runs),
            "requests": len(latencies),
            "worker_cpu_ms_per_request": round(cpu[name] / sent * 1000, 2) if sent else None,
        }
        ctx.log(f"  {name}: {merged[name]}")
    return merged


def report_saves(ctx: Context, server, secrets: dict[str, str]) -> list[Figure]:
    """16 clients save reports (saving_clients), against the same bodies echoed by the same server."""
    clients_count, warmup, duration, rounds = load_sizes(ctx)
    saves = saving_clients(server.port, secrets, clients_count)
    echoes = [load.Client("PUT", "/bench/echo", {"Content-Type": "application/json"}, c.body) for c in saves]
    merged = alternate(ctx, {"echo": (server, echoes), "saves": (server, saves)}, warmup, duration, rounds)
    if merged["saves"]["errors"] or not merged["saves"]["requests"]:
        raise RuntimeError(f"report saves failed: {merged['saves']}")
    details = {"clients": clients_count, "seconds_each": duration * rounds, "workers": 2}
    share = ratio(merged["saves"]["rps"], merged["echo"]["rps"])
    name = "1. report saves over HTTP"
    return [
        Figure(
            name,
            "requests per second",
            merged["saves"]["rps"],
            "req/s",
            "bare Flask endpoint (same JSON, same server)",
            merged["echo"]["rps"],
            share,
            ">= 0.5",
            share is not None and share >= 0.5,
            {
                **details,
                "requests": merged["saves"]["requests"],
                "baseline_requests": merged["echo"]["requests"],
            },
        ),
        Figure(
            name,
            "p50 latency",
            merged["saves"]["p50"],
            "ms",
            "bare endpoint p50",
            merged["echo"]["p50"],
            ratio(merged["saves"]["p50"], merged["echo"]["p50"]),
            None,
            None,
            details,
        ),
        Figure(
            name,
            "p99 latency",
            merged["saves"]["p99"],
            "ms",
            "bare endpoint p99",
            merged["echo"]["p99"],
            ratio(merged["saves"]["p99"], merged["echo"]["p99"]),
            None,
            None,
            details,
        ),
    ]


def _csv(records: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow(
            [
                r["ref"],
                r["date"].isoformat(),
                r["category"],
                ";".join(map(str, r["types"])),
                r["role"],
                r["sex"],
                r["age_band"],
                r["cause"] or "",
                r["relationship"] or "",
                r["district"] or "",
            ]
        )
    return buffer.getvalue()


def case_rows(count: int) -> tuple[list[dict], list[dict]]:
    """`count` case records drawn from the demo data's distributions, and the rows intake stores."""
    drawer = demo.CaseDrawer(demo.load_distributions(CATALOG), seed=8)
    records = list(drawer.sample(count, Quarter(2016, 1), Quarter(2025, 4)))
    now = dt.datetime.now(dt.UTC)
    dates = case_dates(CATALOG, now)
    rows = [
        {
            "ref": r["ref"],
            **{c: v for c, v in check_record(CATALOG, r, dates).items() if c in STORED},
            "updated_at": now,
        }
        for r in records
    ]
    return records, rows


def csv_bodies(records: list[dict], batch: int) -> list[bytes]:
    """The records as CSV uploads of `batch` records each."""
    return [_csv(records[i : i + batch]).encode() for i in range(0, len(records), batch)]


def upload_csv(port: int, token: str, bodies: list[bytes], batch: int) -> None:
    """The bodies (csv_bodies) through `POST /api/v1/cases/csv`, one request each."""
    headers = {"Content-Type": "text/csv", "Authorization": f"Bearer {token}"}
    with requests.Session() as http:
        for body in bodies:
            response = http.post(
                f"http://127.0.0.1:{port}/api/v1/cases/csv", data=body, headers=headers, timeout=600
            )
            if response.status_code != 200 or response.json()["created"] != batch:
                raise RuntimeError(f"upload failed: {response.status_code} {response.text[:300]}")


def case_upload(ctx: Context, port: int, url: str, secrets: dict[str, str]) -> list[Figure]:
    """The same rows: first with one executemany (then removed again), then through the CSV endpoint."""
    count, batch = (2_000, 1_000) if ctx.tiny else (100_000, 10_000)
    records, rows = case_rows(count)
    database = Database(url)
    table = CaseRecord.__table__

    def executemany():
        with database.engine.begin() as connection:
            connection.execute(insert(table), rows)

    baseline_seconds, _ = timed(executemany)
    with database.engine.begin() as connection:
        connection.execute(delete(table))
    database.dispose()
    ctx.log(f"  executemany: {count} rows in {baseline_seconds:.2f} s")

    bodies = csv_bodies(records, batch)
    upload_seconds, _ = timed(upload_csv, port, secrets["statistics"], bodies, batch)
    ctx.log(f"  CSV upload: {count} records in {upload_seconds:.2f} s")
    value, baseline = count / upload_seconds, count / baseline_seconds
    share = ratio(value, baseline)
    return [
        Figure(
            "2. bulk case upload (CSV endpoint)",
            "records per second",
            value,
            "rec/s",
            "one executemany of the same rows, same database",
            baseline,
            share,
            ">= 0.3",
            share is not None and share >= 0.3,
            {
                "records": count,
                "per_request": batch,
                "seconds": upload_seconds,
                "baseline_seconds": baseline_seconds,
            },
        )
    ]


def _open_plan(folder) -> Path:
    """The plan with a lock period so long that every quarter since the first stays open: 16 clients
    save 16 reports. The rules are the catalog's, so the benchmark changes its own copy."""
    plan = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    plan["reporting"]["lock_days"] = 3650
    path = folder / "open-plan.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    return path


def run(ctx: Context) -> list[Figure]:
    with scratch_database(ctx.backend, ctx.folder, "intake", INTAKE_DIR) as url:
        secrets = _tokens(url)
        env = {
            "DATABASE_URL": url,
            "DGBV_CATALOG": str(_open_plan(ctx.folder)),
            "DGBV_VAR_DIR": str(ctx.folder),
        }
        server = gunicorn("bench.apps:intake_with_echo()", env, ctx.folder / "intake.log")
        try:
            ctx.log("1. report saves over HTTP")
            figures = report_saves(ctx, server, secrets)
            ctx.log("2. bulk case upload")
            figures += case_upload(ctx, server.port, url, secrets)
        finally:
            server.stop()
    return figures
