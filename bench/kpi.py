"""Benchmarks 3, 4 and 5: the KPI service over many case records.

4. The change-feed sync of 10^6 case records into kpi from zero (intake served by gunicorn),
   against one executemany of the same rows into kpi's table.
3. Tables 1-3 over 10^4, 10^5 and 10^6 records, as kpi computes them (read the rows, count them
   into cells, build the tables), against pandas computing the same cross-tabulations from the
   same rows of the same database (goal: within 2x), and how the time grows with the records.
5. A /metrics scrape (kpi under gunicorn) with every label set filled (6 bureaus, 29 actions,
   10 years) at 10^4 and 10^6 records (goal: the same time at both, under 50 ms).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import statistics
import time

import pandas as pd
import requests
from sqlalchemy import create_engine, insert, select

from bench.harness import (
    Context,
    Figure,
    bulk_load,
    gunicorn,
    median_time,
    percentile,
    ratio,
    scratch_database,
    timed,
)
from services.intake import SERVICE_DIR as INTAKE_DIR
from services.intake import demo, tokens
from services.intake.cases import STORED, case_change, check_record
from services.intake.models import CaseRecord, Change
from services.kpi import SERVICE_DIR as KPI_DIR
from services.kpi import create_app as create_kpi_app
from services.kpi import snapshot, sync, tables
from services.kpi.intake_client import IntakeFeed
from services.kpi.models import CaseRow, OutcomeRow, ReportRow, TargetRow
from shared import changes
from shared.catalog import default_catalog
from shared.db import Database, normalise_url
from shared.periods import Quarter
from shared.rules import case_dates

CATALOG = default_catalog()
FIRST, LAST = Quarter(2016, 1), Quarter(2025, 4)  # ten years of records
CASE_COLUMNS = ("year", "category", "role", "sex", "age_band", "cause", "relationship", "types")


def _records(count: int, seed: int):
    drawer = demo.CaseDrawer(demo.load_distributions(CATALOG), seed=seed)
    return drawer.sample(count, FIRST, LAST)


def _kpi_rows(records) -> list[dict]:
    rows = []
    dates = case_dates(CATALOG, dt.datetime.now(dt.UTC))
    for r in records:
        columns = check_record(CATALOG, r, dates)
        rows.append({"key": r["ref"], "year": columns["occurred_on"].year, **{c: columns[c] for c in STORED}})
    return rows


# -- 4. the change-feed sync ----------------------------------------------------------------------
def _fill_intake(url: str, count: int) -> str:
    """intake with `count` case records and their changes already in the feed (loaded directly:
    the upload path is benchmark 2); returns a service token."""
    now = dt.datetime.now(dt.UTC)
    records = _records(count, seed=4)
    position = itertools.count(1)
    dates = case_dates(CATALOG, now)
    while chunk := list(itertools.islice(records, 100_000)):
        checked = [(r["ref"], check_record(CATALOG, r, dates)) for r in chunk]
        bulk_load(
            url, CaseRecord.__table__, ({"ref": ref, **cols, "updated_at": now} for ref, cols in checked)
        )
        bulk_load(
            url,
            Change.__table__,
            (
                {
                    "position": next(position),
                    "entity": "case",
                    "key": ref,
                    "data": changes.write(case_change(ref, cols)),
                    "recorded_at": now,
                }
                for ref, cols in checked
            ),
        )
    database = Database(url)
    with database.transaction() as session:
        _, secret = tokens.mint_token(
            session, CATALOG, name="bench kpi", role="service", bureau=None, created_by="bench", now=now
        )
    database.dispose()
    return secret


def feed_sync(ctx: Context, kpi_url: str, count: int) -> list[Figure]:
    with scratch_database(ctx.backend, ctx.folder, "feed", INTAKE_DIR) as intake_url:
        seconds, secret = timed(_fill_intake, intake_url, count)
        ctx.log(f"  intake filled with {count} changes in {seconds:.1f} s")
        server = gunicorn(
            "services.intake:create_app()", {"DATABASE_URL": intake_url}, ctx.folder / "intake-feed.log"
        )
        try:
            app = create_kpi_app({"DATABASE_URL": kpi_url, "INTAKE_URL": server.url, "INTAKE_TOKEN": secret})
            database = app.extensions["database"]
            feed = IntakeFeed.from_config(app.config)
            sync_seconds, result = timed(sync.sync, database, feed, dt.datetime.now(dt.UTC))
            feed.close()
            database.dispose()
        finally:
            server.stop()
    if not result.ok or result.changes != count:
        raise RuntimeError(f"sync failed: {result}")
    ctx.log(f"  synced {count} changes in {sync_seconds:.1f} s ({result.pages} pages)")

    # The baseline: the rows the sync wrote, into the same kind of table, in one executemany.
    columns = [c for c in CaseRow.__table__.columns if c.name != "id"]
    source = Database(kpi_url)
    with source.engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(select(*columns))]
    source.dispose()
    with scratch_database(ctx.backend, ctx.folder, "floor", KPI_DIR) as floor_url:
        floor = Database(floor_url)
        baseline_seconds, _ = timed(_insert_once, floor, rows)
        floor.dispose()
    del rows
    ctx.log(f"  executemany of the same rows: {baseline_seconds:.1f} s")
    value, baseline = count / sync_seconds, count / baseline_seconds
    return [
        Figure(
            "4. change-feed sync into kpi, from zero",
            f"records per second ({count:,} records)",
            value,
            "rec/s",
            "one executemany of the same rows into kpi's table",
            baseline,
            ratio(value, baseline),
            None,
            None,
            {
                "records": count,
                "seconds": sync_seconds,
                "pages": result.pages,
                "baseline_seconds": baseline_seconds,
            },
        )
    ]


def _insert_once(database: Database, rows: list[dict]) -> None:
    with database.engine.begin() as connection:
        connection.execute(insert(CaseRow), rows)


# -- 3. the tables ----------------------------------------------------------------------------------
def kpi_tables(database: Database) -> dict:
    """Tables 1-3 the way kpi computes them: read the rows, count cells, build the tables."""
    with database.session(write=False) as session:
        rows = session.execute(select(*(getattr(CaseRow, c) for c in CASE_COLUMNS))).all()
    cells, type_cells = tables.count_cells(rows)
    built = {}
    for kind, category in (
        ("suspects", "secret_filming"),
        ("suspects", "obscene_distribution"),
        ("victims", "secret_filming"),
        ("types", None),
    ):
        table = tables.build(kind, CATALOG, cells, type_cells, category, FIRST.year, LAST.year)
        built[(kind, category)] = {f"{row.label}/{row.sex}": row.values for row in table.rows}
    return built


def pandas_tables(url: str) -> dict:
    """The same cross-tabulations with pandas, from the same rows of the same database."""
    engine = create_engine(normalise_url(url))
    try:
        frame = pd.read_sql_query("SELECT " + ", ".join(CASE_COLUMNS) + " FROM cases", engine)
    finally:
        engine.dispose()
    suspects = frame[frame["role"] == "suspect"]
    victims = frame[frame["role"] == "victim"]
    out = {
        ("suspects", category): pd.crosstab(
            [part["sex"], part["cause"].fillna("other_unknown")], part["age_band"]
        )
        for category, part in suspects.groupby("category")
    }
    out[("victims", "secret_filming")] = pd.crosstab(
        [victims["sex"], victims["age_band"]], victims["relationship"].fillna("other_unknown")
    )
    types = frame[["role", "sex", "types"]].assign(type=frame["types"].map(_json)).explode("type")
    out[("types", None)] = pd.crosstab(types["type"], [types["role"], types["sex"]])
    return out


def _json(value):
    """SQLite hands JSON columns over as text; psycopg has parsed them already."""
    return json.loads(value) if isinstance(value, str) else value


def _agree(kpi: dict, frames: dict) -> None:
    """Both computed the same thing: the men's suspects of secret filming, and the type counts."""
    kpi_men = kpi[("suspects", "secret_filming")]["男性總計/male"][0]
    pandas_men = int(frames[("suspects", "secret_filming")].loc["male"].to_numpy().sum())
    kpi_types = sum(values[0] + values[3] for values in kpi[("types", None)].values())  # suspects + victims
    pandas_types = int(frames[("types", None)].to_numpy().sum())
    if (kpi_men, kpi_types) != (pandas_men, pandas_types):
        raise RuntimeError(f"kpi and pandas disagree: {(kpi_men, kpi_types)} != {(pandas_men, pandas_types)}")


def tables_at(ctx: Context, url: str, count: int) -> dict:
    database = Database(url)
    repeat = 3 if count < 1_000_000 else 2
    _agree(kpi_tables(database), pandas_tables(url))  # also warms both up
    kpi_seconds = median_time(lambda: kpi_tables(database), repeat)
    pandas_seconds = median_time(lambda: pandas_tables(url), repeat)
    database.dispose()
    ctx.log(f"  {count:>9,} records: kpi {kpi_seconds:.3f} s, pandas {pandas_seconds:.3f} s")
    return {"records": count, "kpi": kpi_seconds, "pandas": pandas_seconds}


def tables_figures(results: list[dict]) -> list[Figure]:
    figures = []
    for result in results:
        share = ratio(result["kpi"], result["pandas"])
        figures.append(
            Figure(
                "3. Tables 1-3 from the case records",
                f"time at {result['records']:,} records",
                result["kpi"] * 1000,
                "ms",
                "pandas: the same cross-tabulations from the same rows",
                result["pandas"] * 1000,
                share,
                "<= 2 (within 2x)",
                share is not None and share <= 2,
            )
        )
    first, last = results[0], results[-1]
    growth = math.log(last["kpi"] / first["kpi"]) / math.log(last["records"] / first["records"])
    baseline_growth = math.log(last["pandas"] / first["pandas"]) / math.log(
        last["records"] / first["records"]
    )
    figures.append(
        Figure(
            "3. Tables 1-3 from the case records",
            f"growth: time ~ records^k, {first['records']:,} to {last['records']:,}",
            growth,
            "k",
            "pandas' k",
            baseline_growth,
            ratio(growth, baseline_growth),
            None,
            None,
        )
    )
    return figures


# -- 5. the /metrics scrape ----------------------------------------------------------------------
SCRAPE_NOW = dt.datetime(2032, 1, 20, 2, 0, tzinfo=dt.UTC)
METRICS_TOKEN = (
    "bench-metrics-token-" + "x" * 24
)  # kpi's /metrics answers only with its token  # ten reporting years, 2022-2031, all due


def _fill_plan(url: str) -> None:
    """Ten years of every bureau's reports, every action metric's targets and the outcome counts,
    then the snapshot as the scheduler computes it."""
    database = Database(url)
    first = CATALOG.reporting.first_quarter.year
    years = range(first, first + 10)
    reports, targets, outcomes = [], [], []
    for year in years:
        for action in CATALOG.actions:
            for metric in (m for m in action.metrics if m.judged):  # caseload metrics have no target
                targets.append(
                    {
                        "key": f"{year}/{action.id}/{metric.id}",
                        "year": year,
                        "action": action.id,
                        "metric": metric.id,
                        "annual": 40,
                        "quarterly": None,
                    }
                )
        for quarter in range(1, 5):
            for bureau in CATALOG.bureaus:
                values = {
                    action.id: {metric.id: 9 + (len(action.id) + quarter) % 3 for metric in action.metrics}
                    for action in CATALOG.actions_for(bureau.id)
                }
                submitted = Quarter(year, quarter).end + dt.timedelta(days=5 + (quarter * 7) % 12)
                reports.append(
                    {
                        "key": f"{bureau.id}/{year}/{quarter}",
                        "bureau": bureau.id,
                        "year": year,
                        "quarter": quarter,
                        "status": "accepted",
                        "values": values,
                        "revision": 3,
                        "submitted_at": dt.datetime.combine(submitted, dt.time(3), tzinfo=dt.UTC),
                    }
                )
    for indicator in CATALOG.indicators:
        for year in range(CATALOG.plan.history_first_year, years[-1] + 1):
            for quarter in range(1, 5):
                outcomes.append(
                    {
                        "key": f"{indicator.id}/{year}/{quarter}",
                        "indicator": indicator.id,
                        "year": year,
                        "quarter": quarter,
                        "count": 20 + (year * 7 + quarter) % 9,
                    }
                )
    with database.engine.begin() as connection:
        for table, rows in ((ReportRow, reports), (TargetRow, targets), (OutcomeRow, outcomes)):
            connection.execute(insert(table), rows)
    snapshot.recompute(database, CATALOG, now=SCRAPE_NOW)
    database.dispose()


def scrape_at(ctx: Context, url: str, count: int) -> dict:
    seconds, _ = timed(_fill_plan, url)
    ctx.log(f"  {count:>9,} records: plan filled and snapshot computed in {seconds:.1f} s")
    env = {
        "DATABASE_URL": url,
        "INTAKE_URL": "http://127.0.0.1:9",
        "INTAKE_TOKEN": "unused-by-metrics",
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    server = gunicorn("services.kpi:create_app()", env, ctx.folder / f"kpi-metrics-{count}.log")
    try:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {METRICS_TOKEN}"
        samples, size, series = [], 0, 0
        for _ in range(10 if ctx.tiny else 100):
            started = time.perf_counter()
            response = http.get(server.url + "/metrics", timeout=30)
            samples.append(time.perf_counter() - started)
            size = len(response.content)
            series = sum(1 for line in response.text.splitlines() if line.startswith("dgbv_"))
        http.close()
    finally:
        server.stop()
    ctx.log(f"  {count:>9,} records: /metrics {statistics.median(samples) * 1000:.1f} ms, {series} series")
    if not series:
        raise RuntimeError(f"the scrape served no dgbv_ series: {response.status_code}")
    return {
        "records": count,
        "median": statistics.median(samples[2:]),
        "p99": percentile(samples[2:], 0.99),
        "bytes": size,
        "series": series,
    }


def scrape_figures(small: dict, large: dict) -> list[Figure]:
    share = ratio(large["median"], small["median"])
    met = share is not None and share <= 1.25 and large["median"] < 0.05 and small["median"] < 0.05
    details = {"series": large["series"], "bytes": large["bytes"], "p99_ms": large["p99"] * 1000}
    return [
        Figure(
            "5. /metrics scrape, every label set filled",
            f"median time at {large['records']:,} records",
            large["median"] * 1000,
            "ms",
            f"the same scrape at {small['records']:,} records",
            small["median"] * 1000,
            share,
            "ratio <= 1.25 and < 50 ms",
            met,
            details,
        )
    ]


def run(ctx: Context) -> list[Figure]:
    sizes = [1_000, 10_000] if ctx.tiny else [10_000, 100_000, 1_000_000]
    figures: list[Figure] = []
    results, scrapes = [], {}
    with scratch_database(ctx.backend, ctx.folder, "kpi-large", KPI_DIR) as large_url:
        ctx.log("4. change-feed sync into kpi")
        figures += feed_sync(ctx, large_url, sizes[-1])
        ctx.log("3. Tables 1-3")
        for count in sizes[:-1]:
            with scratch_database(ctx.backend, ctx.folder, f"kpi-{count}", KPI_DIR) as url:
                bulk_load(url, CaseRow.__table__, _kpi_rows(_records(count, seed=3)))
                results.append(tables_at(ctx, url, count))
                if count == sizes[0]:
                    ctx.log("5. /metrics scrape")
                    scrapes["small"] = scrape_at(ctx, url, count)
        results.append(tables_at(ctx, large_url, sizes[-1]))
        scrapes["large"] = scrape_at(ctx, large_url, sizes[-1])
    return figures + tables_figures(results) + scrape_figures(scrapes["small"], scrapes["large"])
