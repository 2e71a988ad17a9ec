"""The change feed: every change once, in commit order, resumable from any cursor."""

from __future__ import annotations

import pytest

from services.intake import feed, outcomes
from shared import changes
from shared.auth import Principal, Role
from shared.catalog import default_catalog
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


@pytest.mark.parametrize("query", ["after=-1", "limit=0", "limit=5001", "after=abc", "cursor=3"])
def test_bad_cursors_are_refused(api, query):
    response = api.get("service", f"/api/v1/changes?{query}")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"


def test_a_transaction_committing_after_a_later_one_is_still_delivered(postgres_intake_app, clock):
    """Ids are taken in start order but commit order differs; the reader must not skip the late one.

    Only PostgreSQL lets two writers interleave like this (SQLite serialises writers).
    """
    database = postgres_intake_app.extensions["database"]
    catalog = default_catalog()
    early = {"indicator": "secret_filming_female_victims", "year": 2022, "quarter": 1, "count": 5}
    late = {"indicator": "secret_filming_male_suspects", "year": 2022, "quarter": 1, "count": 9}

    def keys(after):
        feed.assign_positions(database)
        with database.session(write=False) as reader:
            return [(c.key, c.position) for c in feed.read(reader, after, 100)]

    with database.session() as slow, slow.begin():
        outcomes.record_counts(slow, catalog, STATISTICIAN, [early], clock())
        slow.flush()  # the early change now holds the lower id, uncommitted
        with database.transaction() as fast:
            outcomes.record_counts(fast, catalog, STATISTICIAN, [late], clock())
        assert keys(0) == [("secret_filming_male_suspects/2022/1", 1)]
    assert keys(1) == [("secret_filming_female_victims/2022/1", 2)]


def test_positions_are_assigned_only_to_committed_changes(intake_app, clock):
    database = intake_app.extensions["database"]
    with database.transaction() as session:
        feed.record(session, changes.InstallationChange(None, "k1"), clock())
    pending = database.session()
    pending.begin()
    feed.record(pending, changes.InstallationChange(None, "k2"), clock())
    pending.flush()
    if database.engine.dialect.name == "sqlite":
        pending.rollback()  # SQLite holds the write lock; the sequencer would wait for it
    feed.assign_positions(database)
    with database.session(write=False) as reader:
        found = [(c.data["first_quarter"], c.position) for c in feed.read(reader, 0, 10)]
    assert found == [("k1", 1)]
    pending.close()
