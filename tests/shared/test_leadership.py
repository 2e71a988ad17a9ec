"""One leader among scheduler processes: a PostgreSQL advisory lock held by a session of its own."""

from __future__ import annotations

import os
import threading
import time

import psycopg
import pytest

from shared.leadership import Election, lead
from tests.helpers.databases import postgres_database

NAME = "test-scheduler"


@pytest.fixture
def postgres_url():
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL")
    with postgres_database(os.environ["TEST_DATABASE_URL"]) as database:
        yield database.url


def end_sessions_holding_the_lock(url: str) -> int:
    """What PostgreSQL does when the leader's process dies: its session ends, its locks go."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as admin:
        pids = [
            row[0]
            for row in admin.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return len(pids)


def test_one_process_leads_and_the_others_stand_by(postgres_url):
    first, second, third = (Election(postgres_url, NAME) for _ in range(3))
    try:
        assert first.try_to_lead()
        assert not second.try_to_lead()
        assert not third.try_to_lead()
        assert first.still_leading() and not second.still_leading()
        # Another service's scheduler is chosen apart.
        other = Election(postgres_url, "another-scheduler")
        assert other.try_to_lead()
        other.close()
    finally:
        for election in (first, second, third):
            election.close()


def test_when_the_leaders_session_ends_it_knows_and_a_standby_leads(postgres_url):
    leader, standby = Election(postgres_url, NAME), Election(postgres_url, NAME)
    try:
        assert leader.try_to_lead() and not standby.try_to_lead()
        assert end_sessions_holding_the_lock(postgres_url) == 1
        assert not leader.still_leading()
        assert standby.try_to_lead()
        assert not leader.try_to_lead()  # it reconnects and stands by
    finally:
        leader.close()
        standby.close()


def test_a_leader_that_resigns_lets_a_standby_lead(postgres_url):
    leader, standby = Election(postgres_url, NAME), Election(postgres_url, NAME)
    try:
        assert leader.try_to_lead()
        leader.resign()
        assert standby.try_to_lead()
    finally:
        leader.close()
        standby.close()


def test_on_sqlite_the_one_process_leads(tmp_path):
    election = Election(f"sqlite:///{tmp_path / 'kpi.db'}", NAME)
    assert election.try_to_lead() and election.still_leading()
    election.close()


class Replica:
    """A scheduler replica's leadership loop in a thread, recording when it ran its jobs."""

    def __init__(self, url: str, running: list, retry: float):
        self.stopping = threading.Event()
        self.started_at: float | None = None
        self.election = Election(url, NAME)

        def start():
            self.started_at = time.monotonic()
            running.append(self)
            return self

        def stop(what):
            running.remove(what)

        self.thread = threading.Thread(
            target=lead,
            args=(self.election,),
            kwargs={"start": start, "stop": stop, "stopping": self.stopping, "retry_seconds": retry},
        )
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(10)


def wait_until(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_only_the_leader_runs_the_jobs_and_a_standby_takes_over_within_the_retry_time(postgres_url):
    running: list[Replica] = []
    retry = 0.5
    replicas = [Replica(postgres_url, running, retry) for _ in range(3)]
    try:
        wait_until(lambda: len(running) == 1, 10)
        time.sleep(2 * retry)
        assert len(running) == 1
        leader = running[0]
        # The leader's session ends as when its process is killed: it stops its jobs, another starts.
        ended = time.monotonic()
        end_sessions_holding_the_lock(postgres_url)
        wait_until(lambda: running and running[0] is not leader, 10)
        assert len(running) == 1
        assert running[0].started_at - ended <= retry + 1.5  # the retry time, and its leader check
        # A leader told to stop hands over too (perhaps to the first, which stood by again).
        second = running[0]
        second.stop()
        wait_until(lambda: running and running[0] is not second, 10)
        assert len(running) == 1
    finally:
        for replica in replicas:
            replica.stop()
    assert running == []
