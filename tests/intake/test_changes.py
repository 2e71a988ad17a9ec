"""The change feed: every change once, in commit order, resumable from any cursor."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command

from services.intake import SERVICE_DIR as INTAKE_DIR
from services.intake import feed, outcomes
from shared import changes
from shared.auth import Principal, Role
from shared.catalog import default_catalog
from shared.migrations import alembic_config, upgrade
from tests.intake.conftest import full_report
from tests.intake.test_cases import record

STATISTICIAN = Principal("test", "statistician", Role.STATISTICS)


def read_all(api, after=0, limit=500) -> list[dict]:
    changes = []
    while True:
        page = api.get("service", f"/api/v1/changes?after={after}&limit={limit}").json
        changes += page["changes"]
        after = page["next_cursor"]
        if not page["has_more"]:
            return changes


def fold(changes: list[dict]) -> dict:
    """A consumer's state: the latest data of each (entity, key)."""
    state = {}
    for change in changes:
        state[(change["entity"], change["key"])] = change["data"]
    return state


def make_some_history(api):
    api.put("coordinator", "/api/v1/targets/2022/1.police.1/sessions", json={"annual": 4})
    api.put("police", "/api/v1/reports/police/2022/2", json=full_report("police", 2))
    api.post("police", "/api/v1/reports/police/2022/2/submit")
    api.put("statistics", "/api/v1/outcomes/secret_filming_male_suspects/2022/1", json={"count": 30})
    api.put("statistics", "/api/v1/outcomes/secret_filming_male_suspects/2022/1", json={"count": 31})
    api.post("statistics", "/api/v1/cases", json={"records": [record("R-1"), record("R-2")]})
    api.post("statistics", "/api/v1/cases", json={"records": [record("R-1", sex="female")]})


def test_every_change_appears_once_in_order_with_a_growing_cursor(api):
    make_some_history(api)
    changes = read_all(api)
    assert [c["position"] for c in changes] == list(range(1, len(changes) + 1))
    assert [(c["entity"], c["key"]) for c in changes] == [
        ("target", "2022/1.police.1/sessions"),
        ("report", "police/2022/2"),
        ("report", "police/2022/2"),
        ("outcome", "secret_filming_male_suspects/2022/1"),
        ("outcome", "secret_filming_male_suspects/2022/1"),
        ("case", "R-1"),
        ("case", "R-2"),
        ("case", "R-1"),
    ]


def test_replaying_from_zero_rebuilds_the_current_state(api):
    make_some_history(api)
    state = fold(read_all(api))
    assert state[("report", "police/2022/2")]["status"] == "submitted"
    assert state[("outcome", "secret_filming_male_suspects/2022/1")]["count"] == 31
    assert state[("case", "R-1")]["sex"] == "female"
    assert state[("target", "2022/1.police.1/sessions")]["annual"] == 4
    report = api.get("police", "/api/v1/reports/police/2022/2").json
    replayed = changes.read("report", state[("report", "police/2022/2")])
    assert (replayed.status, replayed.revision, replayed.narrative) == (
        report["status"],
        report["revision"],
        report["narrative"],
    )
    assert {a.action: a.values for a in replayed.actions} == {
        a["action"]: a["values"] for a in report["actions"]
    }


def test_a_consumer_resuming_mid_way_sees_no_gap_and_no_repeat(api):
    make_some_history(api)
    first_page = api.get("service", "/api/v1/changes?after=0&limit=3").json
    assert first_page["has_more"] is True
    api.post("statistics", "/api/v1/cases", json={"records": [record("R-3")]})  # arrives meanwhile
    rest = read_all(api, after=first_page["next_cursor"], limit=2)
    resumed = first_page["changes"] + rest
    assert resumed == read_all(api)
    assert resumed[-1]["key"] == "R-3"


def test_an_empty_page_keeps_the_cursor(api):
    page = api.get("service", "/api/v1/changes?after=42").json
    assert page == {"changes": [], "next_cursor": 42, "has_more": False, "last_position": 0}


def test_a_page_says_where_the_feed_ends_so_a_new_consumer_can_start_there(api):
    for value in (1, 2, 3):
        api.put("police", "/api/v1/reports/police/2022/2", json=full_report("police", value))
    page = api.get("service", "/api/v1/changes?after=0&limit=1").json
    assert (len(page["changes"]), page["has_more"], page["last_position"]) == (1, True, 3)


@pytest.mark.parametrize(
    "query", ["after=-1", "limit=0", "limit=5001", "after=abc", "cursor=3", "wait=-1", "wait=31"]
)
def test_bad_cursors_are_refused(api, query):
    response = api.get("service", f"/api/v1/changes?{query}")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"


def test_a_writer_that_began_first_but_commits_last_still_comes_after_what_a_reader_has_seen(
    postgres_intake_app, clock
):
    """Two writers interleave (only PostgreSQL lets them; SQLite serialises writers). The one that
    began first commits last: it is numbered after the other, so a reader that has already read
    the other's position never skips it."""
    database = postgres_intake_app.extensions["database"]
    catalog = default_catalog()
    early = {"indicator": "secret_filming_female_victims", "year": 2022, "quarter": 1, "count": 5}
    late = {"indicator": "secret_filming_male_suspects", "year": 2022, "quarter": 1, "count": 9}

    def keys(after):
        with database.session(write=False) as reader:
            return [(c.key, c.position) for c in feed.read(reader, after, 100)]

    with database.session() as slow, slow.begin():
        outcomes.record_counts(slow, catalog, STATISTICIAN, [early], clock())
        slow.flush()  # the early writer holds its row, uncommitted
        with database.transaction() as fast:
            outcomes.record_counts(fast, catalog, STATISTICIAN, [late], clock())
        assert keys(0) == [("secret_filming_male_suspects/2022/1", 1)]
    assert keys(1) == [("secret_filming_female_victims/2022/1", 2)]


def test_a_writer_committing_waits_for_the_one_numbering_before_it(postgres_intake_app, clock):
    """While one transaction holds the feed's sequencer (it is committing), another writer's commit
    waits: positions are handed out in commit order, and no reader sees position 2 before 1."""
    database = postgres_intake_app.extensions["database"]
    first = database.session()
    first.begin()
    feed.record(first, changes.InstallationChange(None, "k1"), clock())
    feed._write_pending(first)  # numbered, sequencer held, not yet committed

    committed = threading.Event()

    def second_writer():
        with database.transaction() as session:
            feed.record(session, changes.InstallationChange(None, "k2"), clock())
        committed.set()

    writer = threading.Thread(target=second_writer)
    writer.start()
    assert not committed.wait(0.5)  # waits for the sequencer
    with database.session(write=False) as reader:
        assert feed.read(reader, 0, 10) == []
    first.commit()
    writer.join(10)
    assert committed.is_set()
    with database.session(write=False) as reader:
        found = [(c.data["first_quarter"], c.position) for c in feed.read(reader, 0, 10)]
    assert found == [("k1", 1), ("k2", 2)]
    first.close()


def test_a_rolled_back_change_leaves_no_gap(intake_app, clock):
    database = intake_app.extensions["database"]
    with database.transaction() as session:
        feed.record(session, changes.InstallationChange(None, "k1"), clock())
    with database.session() as pending, pending.begin():
        feed.record(pending, changes.InstallationChange(None, "lost"), clock())
        pending.flush()
        pending.rollback()
    with database.transaction() as session:
        feed.record(session, changes.InstallationChange(None, "k2"), clock())
    with database.session(write=False) as reader:
        found = [(c.data["first_quarter"], c.position) for c in feed.read(reader, 0, 10)]
    assert found == [("k1", 1), ("k2", 2)]


def test_reading_the_feed_writes_nothing(api, intake_app):
    """An empty feed read costs no write: the request's transaction is a reader's and changes no row."""
    make_some_history(api)
    database = intake_app.extensions["database"]
    before = _row_versions(database)
    for _ in range(3):
        assert api.get("service", "/api/v1/changes?after=0").status_code == 200
        assert api.get("service", "/api/v1/changes?after=100").json["changes"] == []
    assert _row_versions(database) == before


def _row_versions(database):
    """Each feed row's physical version (PostgreSQL's ctid changes on every update) and position."""
    with database.session(write=False) as session:
        column = "ctid::text" if database.engine.dialect.name == "postgresql" else "rowid"
        return session.execute(sa.text(f"SELECT {column}, position FROM changes ORDER BY id")).all()


def test_a_long_poll_is_answered_as_soon_as_a_change_commits(api, intake_app, clock):
    """`wait` holds an empty page until a change commits; the answer carries it."""
    api.put("statistics", "/api/v1/outcomes/secret_filming_male_suspects/2022/1", json={"count": 1})
    answers = []
    poll = threading.Thread(
        target=lambda: answers.append(api.get("service", "/api/v1/changes?after=1&wait=30").json)
    )
    started = time.monotonic()
    poll.start()
    time.sleep(0.3)
    assert not answers  # still waiting: nothing new yet
    api.put("statistics", "/api/v1/outcomes/secret_filming_male_suspects/2022/1", json={"count": 2})
    poll.join(30)
    assert [c["data"]["count"] for c in answers[0]["changes"]] == [2]
    assert time.monotonic() - started < 30  # woken by the commit, not by the end of the wait


def test_a_long_poll_learns_of_another_process_commit(postgres_intake_app, clock):
    """On PostgreSQL a commit made elsewhere (here: a connection outside this process's sessions)
    wakes the waiting reader through LISTEN/NOTIFY."""
    database = postgres_intake_app.extensions["database"]
    found = []

    def read_page():
        with database.session(write=False) as session:
            return [c.position for c in feed.read(session, 0, 10)]

    waiter = threading.Thread(target=lambda: found.extend(feed.wait_for_changes(database, read_page, 30)))
    started = time.monotonic()
    waiter.start()
    time.sleep(0.5)
    url = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as other:  # commits on leaving the block
        other.execute(
            "INSERT INTO changes (position, entity, key, data, recorded_at) "
            "VALUES (1, 'installation', 'installation', '{}', now())"
        )
        other.execute("SELECT pg_notify(%s, '')", (feed.CHANNEL,))
    waiter.join(30)
    assert found == [1]
    assert time.monotonic() - started < feed.POSTGRES_POLL_SECONDS  # the notification, not the poll


def test_a_long_poll_with_nothing_new_answers_an_empty_page_when_its_time_is_up(api):
    page = api.get("service", "/api/v1/changes?after=0&wait=1").json
    assert page == {"changes": [], "next_cursor": 0, "has_more": False, "last_position": 0}


def test_changes_written_before_the_upgrade_and_never_read_are_numbered_by_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    command.upgrade(alembic_config(INTAKE_DIR, url), "0004")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for position, key in ((1, "a"), (None, "b"), (None, "c")):
            connection.execute(
                sa.text(
                    "INSERT INTO changes (position, entity, key, data, recorded_at) "
                    "VALUES (:position, 'installation', :key, '{}', '2026-01-01 00:00:00')"
                ),
                {"position": position, "key": key},
            )
    upgrade(INTAKE_DIR, url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT key, position FROM changes ORDER BY id")).all()
    engine.dispose()
    assert rows == [("a", 1), ("b", 2), ("c", 3)]
