"""The demo data generator: reproducible, faithful to the seed's tables and trends, marked, realistic."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
import threading
from collections import Counter, defaultdict, namedtuple

import pytest
import yaml
from sqlalchemy import select
from werkzeug.serving import make_server

from services.intake import create_app, demo, feed, tokens
from services.intake.models import (
    ActivityTarget,
    CaseRecord,
    Installation,
    OutcomeCount,
    OutcomeRevision,
    Report,
    ReportRevision,
)
from services.kpi import SERVICE_DIR as KPI_DIR
from services.kpi import create_app as create_kpi_app
from services.kpi import scheduler
from shared.catalog import default_catalog
from shared.db import Database
from shared.periods import Quarter
from shared.rules import assess_indicators as assess_all
from tests.helpers.databases import sqlite_template
from tests.helpers.secrets import METRICS_TOKEN, SCRAPE_HEADERS

CATALOG = default_catalog()
# 2023Q2 ended on 30 June and was due on 10 July: it is the latest quarter that is due.
UNTIL = dt.date(2023, 8, 15)
SUBMITTED = ("submitted", "accepted", "returned")


def generate(url: str, *, seed: int = 1, until: dt.date = UNTIL, batch_size=demo.CASE_BATCH):
    database = Database(url)
    try:
        summary = demo.generate(
            database,
            CATALOG,
            seed=seed,
            until=until,
            batch_size=batch_size,
        )
    finally:
        database.dispose()
    return summary


def change_feed(url: str) -> list[tuple]:
    """The whole change feed as a consumer reads it."""
    database = Database(url)
    try:
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
    assert {entity for _, entity, *_ in feed_of_first} == {
        "installation",
        "target",
        "report",
        "outcome",
        "case",
    }
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
Record = namedtuple("Record", "sex age_band cause")
TABLE_1_CAUSE_SHARES = {
    ("female", "no_reason"): 38.89,
    ("female", "intentional"): 13.89,
    ("male", "sexual_impulse"): 28.21,
    ("male", "greed"): 15.38,
    ("male", "no_reason"): 11.28,
}


def test_twenty_thousand_drawn_records_reproduce_table_1_shares():
    # Drawn as the demo draws the cells outside the table years, and as bench/ makes bulk records.
    drawer = demo.CaseDrawer(demo.load_distributions(CATALOG), seed=11)
    drawn = list(drawer.sample(20_000, Quarter(2016, 1), Quarter(2025, 4)))
    assert len(drawn) == 20_000 and all(r["ref"].startswith("DEMO-") for r in drawn)
    records = [
        Record(r["sex"], r["age_band"], r["cause"])
        for r in drawn
        if (r["category"], r["role"]) == ("secret_filming", "suspect")
    ]
    bands = [band.id for band in CATALOG.age_bands]
    for sex, printed in TABLE_1_AGE_SHARES.items():
        of_sex = [r for r in records if r.sex == sex]
        by_age = Counter(r.age_band for r in of_sex)
        tolerance = 2.0 if sex == "male" else 4.0  # about 7,000 men and 1,300 women are drawn
        for band, share in zip(bands, printed, strict=True):
            assert 100 * by_age[band] / len(of_sex) == pytest.approx(share, abs=tolerance), (sex, band)
    for (sex, cause), share in TABLE_1_CAUSE_SHARES.items():
        of_sex = [r for r in records if r.sex == sex]
        drawn_share = 100 * sum(r.cause == cause for r in of_sex) / len(of_sex)
        assert drawn_share == pytest.approx(share, abs=2.0 if sex == "male" else 4.0), (sex, cause)
    # Every cell of the joint distribution (cause x age band) of the men, not only the margins.
    men = Counter((r.cause, r.age_band) for r in records if r.sex == "male")
    joint = demo.load_distributions(CATALOG).joints[("secret_filming", "suspect", "male")]
    total = sum(men.values())
    for (band, cause, _), share in joint.shares().items():
        assert men[(cause, band)] / total == pytest.approx(share, abs=0.012), (cause, band)


def test_everything_is_marked_as_demo_data(intake_db_url):
    generate(intake_db_url)
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
            "installation": lambda d: d == {"v": 1, "installed_on": None, "first_quarter": "2022Q1"},
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
    judged = sum(1 for action in CATALOG.actions for metric in action.metrics if metric.judged)
    assert Counter(year for (year,) in targets) == {2022: judged, 2023: judged}


def test_outcomes_follow_the_seed_trend_then_part_ways(intake_db_url):
    generate(intake_db_url, seed=3, until=dt.date(2026, 11, 28))
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


# -- case records: one per person counted ---------------------------------------------------
# The seed's Tables 1-3 (2020+2021), persons of each series as printed.
PRINTED_TOTALS = {
    ("secret_filming", "suspect", "female"): 36,
    ("secret_filming", "suspect", "male"): 195,
    ("secret_filming", "victim", "female"): 181,
    ("secret_filming", "victim", "male"): 61,
    ("obscene_distribution", "suspect", "female"): 9,
    ("obscene_distribution", "suspect", "male"): 41,
}


def records_by_series(url: str) -> Counter:
    """Case records by series (category, role, sex) and the quarter they occurred in."""
    return Counter(
        ((category, role, sex), Quarter.containing(day))
        for category, role, sex, day in rows(
            url, select(CaseRecord.category, CaseRecord.role, CaseRecord.sex, CaseRecord.occurred_on)
        )
    )


def by_year(quarterly: dict[Quarter, int]) -> Counter:
    yearly = Counter()
    for quarter, n in quarterly.items():
        yearly[quarter.year] += n
    return yearly


def assert_counts_are_records(url: str) -> None:
    """Every indicator's outcome count, of every quarter and year, is the number of its series' records."""
    records = records_by_series(url)
    counts = rows(
        url, select(OutcomeCount.indicator, OutcomeCount.year, OutcomeCount.quarter, OutcomeCount.count)
    )
    for indicator in CATALOG.indicators:
        series = (indicator.category, indicator.role, indicator.sex)
        counted = {Quarter(year, q): n for i, year, q, n in counts if i == indicator.id}
        recorded = {quarter: n for (s, quarter), n in records.items() if s == series}
        assert counted and set(recorded) <= set(counted), indicator.id
        assert counted == {quarter: recorded.get(quarter, 0) for quarter in counted}, indicator.id
        assert by_year(counted) == by_year(recorded), indicator.id


def test_every_indicators_counts_are_the_number_of_its_case_records(intake_db_url):
    # From 2016 to a year under way: the trend, the years the indicators part ways, the revision.
    summary = generate(intake_db_url, seed=3, until=dt.date(2026, 11, 28))
    assert_counts_are_records(intake_db_url)
    assert summary["case_records"] == sum(records_by_series(intake_db_url).values()) > 2000


def test_the_other_series_follow_their_own_trend(intake_db_url):
    generate(intake_db_url, seed=4, until=dt.date(2026, 11, 28))
    distributions = demo.load_distributions(CATALOG)
    indicators = {(i.category, i.role, i.sex) for i in CATALOG.indicators}
    others = [key for key in distributions.joints if key not in indicators]
    assert set(others) == {
        ("secret_filming", "suspect", "female"),
        ("secret_filming", "victim", "male"),
        ("obscene_distribution", "suspect", "female"),
    }
    records = records_by_series(intake_db_url)
    low, high = distributions.assumptions["yearly_change_after_trends"]
    for key in others:
        yearly = by_year({quarter: n for (s, quarter), n in records.items() if s == key})
        # Up to 2021 the counts the indicators would have (2020+2021 the printed total), then a drift.
        assert {y: yearly[y] for y in range(2016, 2022)} == distributions.trend_counts(key, range(2016, 2022))
        assert yearly[2020] + yearly[2021] == PRINTED_TOTALS[key]
        expected = distributions.expected(key, 2021)
        for year in range(2022, 2026):
            steps = year - 2021
            assert (
                round(expected * (1 + low) ** steps) <= yearly[year] <= round(expected * (1 + high) ** steps)
            )
    # Female suspects of secret filming grew 16.27% a year (年增率) from 2016 to 2021.
    women = by_year({q: n for (s, q), n in records.items() if s == ("secret_filming", "suspect", "female")})
    assert (women[2021] / women[2016]) ** (1 / 5) - 1 == pytest.approx(0.1627, abs=0.02)


def printed_cells() -> dict[tuple[str, str, str], Counter]:
    """Tables 1-3 as demo_distributions.yaml transcribes them: per series, persons by (cause, age band)
    for suspects and by (age band, relationship) for victims."""
    raw = yaml.safe_load(demo.DISTRIBUTIONS_PATH.read_text(encoding="utf-8"))
    printed = {}
    for table in raw["tables"]:
        columns = raw["age_bands"] if table["role"] == "suspect" else raw["relationships"]
        for sex, block in table["sexes"].items():
            printed[(table["category"], table["role"], sex)] = Counter(
                {
                    (code, column): n
                    for code, row in block["rows"].items()
                    for column, n in zip(columns, row["cells"], strict=True)
                    if n
                }
            )
    return printed


def test_the_records_of_2020_and_2021_are_tables_1_to_3_cell_by_cell(intake_db_url):
    generate(intake_db_url, seed=5)
    printed = printed_cells()
    in_tables, elsewhere = defaultdict(Counter), defaultdict(Counter)
    for r in rows(
        intake_db_url,
        select(
            CaseRecord.category,
            CaseRecord.role,
            CaseRecord.sex,
            CaseRecord.age_band,
            CaseRecord.cause,
            CaseRecord.relationship,
            CaseRecord.occurred_on,
        ),
    ):
        cell = (r.cause, r.age_band) if r.role == "suspect" else (r.age_band, r.relationship)
        years = in_tables if r.occurred_on.year in (2020, 2021) else elsewhere
        years[(r.category, r.role, r.sex)][cell] += 1
    assert in_tables == printed
    assert {key: cells.total() for key, cells in in_tables.items()} == PRINTED_TOTALS
    assert printed[("secret_filming", "suspect", "male")][("sexual_impulse", "24-29")] == 19
    # Other years draw from the tables' joint distributions: only cells the tables have persons in.
    assert set(elsewhere) == set(printed)
    for key, cells in elsewhere.items():
        assert set(cells) <= set(printed[key]), key


def test_the_revised_count_comes_with_a_late_registered_case(empty_intake_db, intake_db_url):
    # The history is loaded on 15 January 2022; on 25 April a case registered late adds one person
    # to a count of 2018: the day before, the count and the records are one lower.
    before, after = empty_intake_db(), intake_db_url
    generate(before, until=dt.date(2022, 4, 25))
    generate(after, until=dt.date(2022, 4, 26))
    (revised,) = [c for (c,) in rows(after, select(OutcomeCount).where(OutcomeCount.revision == 2))]
    indicator = CATALOG.indicator(revised.indicator)
    series, quarter = (
        (indicator.category, indicator.role, indicator.sex),
        Quarter(revised.year, revised.quarter),
    )
    assert quarter == Quarter(2018, 2)

    def refs(url: str) -> set[str]:
        return {
            ref
            for ref, category, role, sex, day in rows(
                url,
                select(
                    CaseRecord.ref,
                    CaseRecord.category,
                    CaseRecord.role,
                    CaseRecord.sex,
                    CaseRecord.occurred_on,
                ),
            )
            if (category, role, sex) == series and Quarter.containing(day) == quarter
        }

    (count_before,) = [
        c.count
        for (c,) in rows(before, select(OutcomeCount))
        if (c.indicator, c.year, c.quarter) == (revised.indicator, revised.year, revised.quarter)
    ]
    assert count_before + 1 == revised.count == len(refs(after)) == len(refs(before)) + 1
    (late,) = refs(after) - refs(before)
    assert late.startswith("DEMO-2018Q2-")
    (uploaded_at,) = [
        at for (at,) in rows(after, select(CaseRecord.updated_at).where(CaseRecord.ref == late))
    ]
    assert uploaded_at == revised.updated_at  # with the revision
    for url in (before, after):
        assert_counts_are_records(url)


def test_the_cli_loads_an_empty_database_only(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}", "DGBV_VAR_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "services.intake", "demo-data", "--until", "2022-08-01"]

    def run(*extra):
        return subprocess.run([*command, *extra], env=env, capture_output=True, text=True, timeout=120)

    # The number of case records follows from the counts: there is nothing to choose.
    assert "No such option '--cases'" in run("--cases", "50").stderr
    loaded = run()
    assert loaded.returncode == 0, loaded.stderr
    records = rows(f"sqlite:///{tmp_path / 'intake.db'}", select(CaseRecord.ref))
    assert f"'case_records': {len(records)}" in loaded.stderr and len(records) > 1000
    assert run("--if-empty").returncode == 0
    refused = run()
    assert refused.returncode == 1 and "empty database" in refused.stderr


def test_kpi_shows_that_its_figures_include_demo_data(intake_db_url, tmp_path_factory, tmp_path, clock):
    generate(intake_db_url)
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
            "METRICS_TOKEN": METRICS_TOKEN,
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    try:
        assert scheduler.run_cycle(kpi_app).ok
        client = kpi_app.test_client()
        status = client.get("/api/v1/status", headers={"Authorization": f"Bearer {secret}"})
        assert status.status_code == 200 and status.json["demo_data"] is True
        assert "dgbv_demo_data 1.0" in client.get("/metrics", headers=SCRAPE_HEADERS).get_data(as_text=True)
    finally:
        kpi_app.extensions["database"].dispose()
        server.shutdown()
        thread.join(timeout=10)
        intake_app.extensions["database"].dispose()


def test_the_demo_keeps_the_plans_whole_history_and_sets_no_caseload_targets(intake_db_url):
    generate(intake_db_url, until=dt.date(2023, 8, 1))
    database = Database(intake_db_url)
    try:
        with database.session(write=False) as session:
            installed = session.get(Installation, 1)
            metrics = set(session.execute(select(ActivityTarget.action, ActivityTarget.metric).distinct()))
    finally:
        database.dispose()
    assert (installed.installed_on, installed.first_quarter) == (None, "2022Q1")
    assert metrics == {(a.id, m.id) for a in CATALOG.actions for m in a.metrics if m.judged}


@pytest.mark.parametrize("until", [UNTIL, dt.date(2026, 11, 28)])
def test_the_latest_due_quarter_has_an_action_behind_plan_explained(intake_db_url, until):
    summary = generate(intake_db_url, until=until)
    latest = Quarter.parse(summary["latest_due_quarter"])
    explained = [
        report.bureau
        for (report,) in rows(intake_db_url, select(Report))
        if (report.year, report.quarter) == (latest.year, latest.quarter)
        and report.status in SUBMITTED
        and any(entry.get("delay_reason") for entry in report.actions.values())
    ]
    assert explained and summary["missing_bureau"] not in explained
