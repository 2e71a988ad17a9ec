"""The demo data generator: reproducible, faithful to the seed's tables and trends, marked, realistic."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
import threading
from collections import Counter

import pytest
import yaml
from sqlalchemy import select
from werkzeug.serving import make_server

from services.intake import create_app, demo, feed, tokens
from services.intake.models import (
    ActivityTarget,
    CaseRecord,
    OutcomeCount,
    OutcomeRevision,
    Report,
    ReportRevision,
)
from services.kpi import SERVICE_DIR as KPI_DIR
from services.kpi import create_app as create_kpi_app
from services.kpi import scheduler
from services.kpi.indicators import assess_all
from shared.catalog import default_catalog
from shared.db import Database
from shared.periods import Quarter
from tests.helpers.databases import sqlite_template

CATALOG = default_catalog()
# 2023Q2 ended on 30 June and was due on 10 July: it is the latest quarter that is due.
UNTIL = dt.date(2023, 8, 15)
SUBMITTED = ("submitted", "accepted", "returned")


def generate(
    url: str, *, seed: int = 1, cases: int = 300, until: dt.date = UNTIL, batch_size=demo.CASE_BATCH
):
    database = Database(url)
    try:
        summary = demo.generate(
            database,
            CATALOG,
            seed=seed,
            cases=cases,
            until=until,
            due_days=10,
            lock_days=30,
            batch_size=batch_size,
        )
    finally:
        database.dispose()
    return summary


def change_feed(url: str) -> list[tuple]:
    """The whole change feed as a consumer reads it."""
    database = Database(url)
    try:
        feed.assign_positions(database)
        with database.session(write=False) as session:
            return [
                (c.position, c.entity, c.key, c.data, c.recorded_at.isoformat())
                for c in feed.read(session, 0, 10**9)
            ]
    finally:
        database.dispose()


def rows(url: str, query):
    database = Database(url)
    try:
        with database.session(write=False) as session:
            return list(session.execute(query))
    finally:
        database.dispose()


@pytest.fixture
def empty_intake_db(request, tmp_path):
    """Makes more empty, migrated SQLite intake databases."""
    template = request.getfixturevalue("_intake_sqlite_template")
    names = itertools.count()
    return lambda: template.copy_to(tmp_path / f"more-{next(names)}.db")


def test_the_same_seed_gives_the_same_change_feed_and_another_seed_another(empty_intake_db):
    first, again, other = empty_intake_db(), empty_intake_db(), empty_intake_db()
    generate(first, seed=7)
    generate(again, seed=7)
    generate(other, seed=8)
    feed_of_first = change_feed(first)
    assert feed_of_first == change_feed(again)
    assert {entity for _, entity, *_ in feed_of_first} == {"target", "report", "outcome", "case"}
    feed_of_other = change_feed(other)
    assert feed_of_other != feed_of_first
    assert [c[3] for c in feed_of_first if c[1] == "case"] != [c[3] for c in feed_of_other if c[1] == "case"]


def test_distributions_are_the_seed_tables_and_a_mistyped_cell_is_refused(tmp_path):
    distributions = demo.load_distributions(CATALOG)
    table_1_men = distributions.joints[("secret_filming", "suspect", "male")]
    assert (table_1_men.table, table_1_men.total, table_1_men.years) == ("表一", 195, (2020, 2021))
    assert table_1_men.counts[table_1_men.cells.index(("24-29", "sexual_impulse", None))] == 19
    assert distributions.joints[("secret_filming", "victim", "female")].total == 181
    assert distributions.joints[("obscene_distribution", "suspect", "male")].total == 41
    assert distributions.growth[("secret_filming", "suspect", "male")] == pytest.approx(0.1028)

    raw = yaml.safe_load(demo.DISTRIBUTIONS_PATH.read_text(encoding="utf-8"))
    raw["tables"][0]["sexes"]["male"]["rows"]["greed"]["cells"][3] = 12  # printed: 11
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(demo.DistributionsError) as error:
        demo.load_distributions(CATALOG, broken)
    assert "tables.0.sexes.male.rows.greed" in error.value.errors
    assert "not the printed 30" in str(error.value)


# The seed's Table 1 (表一), as printed: shares (構成比) of the age bands and of the main causes.
TABLE_1_AGE_SHARES = {
    "female": [0.0, 5.56, 5.56, 33.33, 22.22, 11.11, 22.22],
    "male": [2.56, 15.38, 23.59, 28.72, 15.90, 10.77, 3.08],
}
TABLE_1_CAUSE_SHARES = {
    ("female", "no_reason"): 38.89,
    ("female", "intentional"): 13.89,
    ("male", "sexual_impulse"): 28.21,
    ("male", "greed"): 15.38,
    ("male", "no_reason"): 11.28,
}


def test_twenty_thousand_records_reproduce_table_1_shares(intake_db_url):
    summary = generate(intake_db_url, seed=11, cases=20_000)
    assert summary["case_records"] == 20_000
    records = rows(
        intake_db_url,
        select(CaseRecord.sex, CaseRecord.age_band, CaseRecord.cause).where(
            CaseRecord.category == "secret_filming", CaseRecord.role == "suspect"
        ),
    )
    bands = [band.id for band in CATALOG.age_bands]
    for sex, printed in TABLE_1_AGE_SHARES.items():
        of_sex = [r for r in records if r.sex == sex]
        by_age = Counter(r.age_band for r in of_sex)
        tolerance = 2.0 if sex == "male" else 4.0  # about 7,000 men and 1,300 women are drawn
        for band, share in zip(bands, printed, strict=True):
            assert 100 * by_age[band] / len(of_sex) == pytest.approx(share, abs=tolerance), (sex, band)
    for (sex, cause), share in TABLE_1_CAUSE_SHARES.items():
        of_sex = [r for r in records if r.sex == sex]
        drawn = 100 * sum(r.cause == cause for r in of_sex) / len(of_sex)
        assert drawn == pytest.approx(share, abs=2.0 if sex == "male" else 4.0), (sex, cause)
    # Every cell of the joint distribution (cause x age band) of the men, not only the margins.
    men = Counter((r.cause, r.age_band) for r in records if r.sex == "male")
    joint = demo.load_distributions(CATALOG).joints[("secret_filming", "suspect", "male")]
    total = sum(men.values())
    for (band, cause, _), share in joint.shares().items():
        assert men[(cause, band)] / total == pytest.approx(share, abs=0.012), (cause, band)


def test_everything_is_marked_as_demo_data(intake_db_url):
    generate(intake_db_url, cases=200)
    assert all(ref.startswith("DEMO-") for (ref,) in rows(intake_db_url, select(CaseRecord.ref)))
    assert all(text.startswith("【示範資料】") for (text,) in rows(intake_db_url, select(Report.narrative)))
    actors = {a for (a,) in rows(intake_db_url, select(ReportRevision.actor))}
    actors |= {a for (a,) in rows(intake_db_url, select(ActivityTarget.updated_by))}
    actors |= {a for (a,) in rows(intake_db_url, select(OutcomeCount.updated_by))}
    actors |= {a for (a,) in rows(intake_db_url, select(OutcomeRevision.actor))}
    assert actors == {"示範資料產生器"}
    comments = [c for (c,) in rows(intake_db_url, select(ReportRevision.comment)) if c]
    reasons = [r for (r,) in rows(intake_db_url, select(ReportRevision.reason)) if r]
    assert comments and all(text.startswith("【示範資料】") for text in comments + reasons)
    for _, entity, _, data, _ in change_feed(intake_db_url):
        marks = {
            "case": lambda d: d["ref"].startswith("DEMO-"),
            "report": lambda d: d["narrative"].startswith("【示範資料】"),
            "target": lambda d: d["updated_by"] == "示範資料產生器",
            "outcome": lambda d: d["updated_by"] == "示範資料產生器",
        }
        assert marks[entity](data), (entity, data)


def submitted_by_quarter(url: str) -> dict[Quarter, set[str]]:
    found: dict[Quarter, set[str]] = {}
    for bureau, year, quarter, status in rows(
        url, select(Report.bureau, Report.year, Report.quarter, Report.status)
    ):
        if status in SUBMITTED:
            found.setdefault(Quarter(year, quarter), set()).add(bureau)
    return found


def test_the_latest_due_quarter_misses_exactly_one_bureau(intake_db_url):
    summary = generate(intake_db_url, seed=5)
    assert summary["latest_due_quarter"] == "2023Q2"
    everyone = {bureau.id for bureau in CATALOG.bureaus}
    submitted = submitted_by_quarter(intake_db_url)
    assert everyone - submitted[Quarter(2023, 2)] == {summary["missing_bureau"]}
    # Earlier quarters have their own gaps now and then, but most bureaus report.
    assert sum(len(submitted.get(Quarter(2022, q), ())) for q in range(1, 5)) >= 20


def test_a_quarter_ended_but_not_yet_due_is_partly_submitted(intake_db_url):
    # 5 July 2023: 2023Q2 has ended but is due on 10 July; 2023Q1 is the latest quarter due.
    summary = generate(intake_db_url, seed=2, until=dt.date(2023, 7, 5))
    assert summary["latest_due_quarter"] == "2023Q1"
    everyone = {bureau.id for bureau in CATALOG.bureaus}
    submitted = submitted_by_quarter(intake_db_url)
    assert len(everyone - submitted[Quarter(2023, 1)]) == 1
    assert submitted.get(Quarter(2023, 2), set()) != everyone
    last = max(at for (at,) in rows(intake_db_url, select(ReportRevision.at)))
    assert last < dt.datetime(2023, 7, 4, 16, 0, tzinfo=dt.UTC)  # before 5 July in Taipei


def test_reports_are_realistic_late_reviewed_returned_and_explained(intake_db_url):
    generate(intake_db_url, seed=1)
    reports = rows(intake_db_url, select(Report))
    reports = [r for (r,) in reports]
    late = [r for r in reports if r.days_late]
    assert late and len(late) < len([r for r in reports if r.submitted_at]) / 2
    statuses = Counter(r.status for r in reports)
    assert statuses["accepted"] > 0 and statuses["returned"] == 1
    explained = [
        entry
        for r in reports
        for entry in r.actions.values()
        if entry.get("delay_reason") and entry.get("countermeasure")
    ]
    assert explained  # actions behind plan carry 落後原因 and 因應對策, or submission would fail
    events = Counter(e for (e,) in rows(intake_db_url, select(ReportRevision.event)))
    assert events["created"] and events["submitted"] and events["accepted"] and events["returned"] == 1
    assert events["amended"] == 1
    targets = rows(intake_db_url, select(ActivityTarget.year))
    metrics = sum(len(action.metrics) for action in CATALOG.actions)
    assert Counter(year for (year,) in targets) == {2022: metrics, 2023: metrics}


def test_outcomes_follow_the_seed_trend_then_part_ways(intake_db_url):
    generate(intake_db_url, seed=3, until=dt.date(2026, 11, 28), cases=0)
    counts: dict[str, dict[tuple[int, int], int]] = {}
    for indicator, year, quarter, count in rows(
        intake_db_url,
        select(OutcomeCount.indicator, OutcomeCount.year, OutcomeCount.quarter, OutcomeCount.count),
    ):
        counts.setdefault(indicator, {})[(year, quarter)] = count

    def yearly(indicator, year):
        return sum(counts[indicator][(year, q)] for q in range(1, 5))

    # The seed: 195 male suspects of secret filming in 2020+2021, 181 female victims, 41 male
    # suspects of distributing obscene material; growth 10.28%, 9.53% and 22.87% a year.
    for indicator, two_years, growth in (
        ("secret_filming_male_suspects", 195, 0.1028),
        ("secret_filming_female_victims", 181, 0.0953),
        ("obscene_distribution_male_suspects", 41, 0.2287),
    ):
        assert yearly(indicator, 2020) + yearly(indicator, 2021) == two_years
        rate = (yearly(indicator, 2021) / yearly(indicator, 2016)) ** (1 / 5) - 1
        assert rate == pytest.approx(growth, abs=0.02), indicator
    assert sorted(counts["secret_filming_male_suspects"])[-1] == (2026, 3)
    # After the trend each year parts the indicators: one beats the 3% goal, one falls short of it
    # but stays under the year before, one rises. In the year under way that is on track, at risk,
    # off track; a finished year shows met and missed.
    for year in (2022, 2023, 2024, 2025, 2026):
        items = assess_all(CATALOG, year, counts)
        bands = {-1 if item["change_pct"] <= -3 else 0 if item["change_pct"] <= 0 else 1 for item in items}
        assert bands == {-1, 0, 1}, (year, [item["change_pct"] for item in items])
    assert {item["status"] for item in assess_all(CATALOG, 2026, counts)} == {
        "on_track",
        "at_risk",
        "off_track",
    }
    assert {item["status"] for item in assess_all(CATALOG, 2022, counts)} == {"met", "missed"}


def test_the_cli_loads_an_empty_database_only(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}", "DGBV_VAR_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "services.intake", "demo-data", "--cases", "50", "--until", "2022-08-01"]

    def run(*extra):
        return subprocess.run([*command, *extra], env=env, capture_output=True, text=True, timeout=120)

    loaded = run()
    assert loaded.returncode == 0, loaded.stderr
    assert "'case_records': 50" in loaded.stderr
    assert run("--if-empty").returncode == 0
    refused = run()
    assert refused.returncode == 1 and "empty database" in refused.stderr


def test_kpi_shows_that_its_figures_include_demo_data(intake_db_url, tmp_path_factory, tmp_path, clock):
    generate(intake_db_url, cases=100)
    intake_app = create_app({"DATABASE_URL": intake_db_url, "CLOCK": clock, "TESTING": True})
    with intake_app.extensions["database"].transaction() as session:
        _, secret = tokens.mint_token(
            session, CATALOG, name="kpi", role="service", bureau=None, created_by="test", now=clock()
        )
    server = make_server("127.0.0.1", 0, intake_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kpi_url = sqlite_template(tmp_path_factory.mktemp("kpi"), KPI_DIR).copy_to(tmp_path / "kpi.db")
    kpi_app = create_kpi_app(
        {
            "DATABASE_URL": kpi_url,
            "INTAKE_URL": f"http://127.0.0.1:{server.port}",
            "INTAKE_TOKEN": secret,
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    try:
        assert scheduler.run_cycle(kpi_app).ok
        client = kpi_app.test_client()
        status = client.get("/api/v1/status", headers={"Authorization": f"Bearer {secret}"})
        assert status.status_code == 200 and status.json["demo_data"] is True
        assert "dgbv_demo_data 1.0" in client.get("/metrics").get_data(as_text=True)
    finally:
        kpi_app.extensions["database"].dispose()
        server.shutdown()
        thread.join(timeout=10)
        intake_app.extensions["database"].dispose()
