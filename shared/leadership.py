"""One leader among any number of scheduler processes of a service, chosen by PostgreSQL.

Every scheduler process of a service (kpi's, notify's) asks PostgreSQL for one session-level
advisory lock named after the service, on a connection of its own that it keeps open while it
leads. The process that holds the lock runs the jobs; the others are standbys and ask again every
`LEADER_RETRY_SECONDS`. The lock lives exactly as long as the leader's database session:

- the leader stops (SIGTERM): it stops its jobs, then releases the lock;
- the leader dies (SIGKILL, crash, out of memory, its container or machine stops): its connection
  closes and PostgreSQL frees the lock at once, so a standby leads within `LEADER_RETRY_SECONDS`;
- the leader is cut off from the database without its connection closing (a network partition):
  the server's TCP keepalives (set on the session below) end the session, and free the lock, about
  25 s after the last sign of life; the leader checks its connection every second and, with
  libpq's keepalives and TCP user timeout shorter than the server's, stops its jobs before that.

The figures stay right even in the short overlap of a leader still finishing a job while another
has taken over: kpi's snapshot is never replaced by an older one (services/kpi/snapshot.py) and
notify's sender claims each message under a fenced lease (services/notify/outbox.py).

SQLite has no server to ask: there the one scheduler process (`make run` starts one) leads.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from shared.db import normalise_url
from shared.settings import Setting, number

log = logging.getLogger(__name__)

SETTINGS = (
    # How often a standby scheduler asks to lead: the bound on a takeover after the leader died.
    Setting("LEADER_RETRY_SECONDS", number(0.1, 60), 5.0),
)

CHECK_SECONDS = 1.0  # how often a leader checks that it still holds its session
# The server ends a silent session (and frees its lock) after about 10 + 5 x 3 = 25 s ...
SERVER_KEEPALIVES = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}
# ... while the leader gives up its own connection after about 12 s of silence (libpq's settings).
CLIENT_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 4,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms: a statement whose packets go unanswered
    "connect_timeout": 5,
}


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a name (the same in every process)."""
    return int.from_bytes(hashlib.sha256(f"dgbv-leader:{name}".encode()).digest()[:8], "big", signed=True)


class Election:
    """Leadership of `name` among the processes sharing the database at `url`."""

    def __init__(self, url: str, name: str):
        self.name = name
        self.key = lock_key(name)
        url = normalise_url(url)
        self.on_postgres = make_url(url).get_backend_name() == "postgresql"
        # A connection of its own, never pooled: its session is the leadership.
        self._engine = (
            create_engine(url, poolclass=NullPool, connect_args=CLIENT_KEEPALIVES, hide_parameters=True)
            if self.on_postgres
            else None
        )
        self._connection: Connection | None = None
        self.leading = False

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            for setting, value in SERVER_KEEPALIVES.items():
                connection.exec_driver_sql(f"SET {setting} = {int(value)}")
            self._connection = connection
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except sa_exc.SQLAlchemyError:
                self._connection.invalidate()
            self._connection = None

    def try_to_lead(self) -> bool:
        """Take the leadership if nobody holds it; True if this process leads now."""
        if not self.on_postgres:
            self.leading = True
            return True
        try:
            got = self._connect().scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        except sa_exc.SQLAlchemyError as error:
            log.warning("cannot ask the database who leads %s: %s", self.name, type(error).__name__)
            self._drop_connection()
            return False
        self.leading = bool(got)
        return self.leading

    def still_leading(self) -> bool:
        """Whether the session holding the lock is still alive (the lock lives as long as it does)."""
        if not self.on_postgres:
            return self.leading
        if not self.leading:
            return False
        try:
            self._connection.scalar(text("SELECT 1"))
        except sa_exc.SQLAlchemyError:
            self._drop_connection()
            self.leading = False
        return self.leading

    def resign(self) -> None:
        """Release the leadership and close the connection (closing alone would release it too)."""
        if self.on_postgres and self.leading:
            # If the session is gone, so is the lock.
            with contextlib.suppress(sa_exc.SQLAlchemyError):
                self._connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        self.leading = False
        self._drop_connection()

    def close(self) -> None:
        self.resign()
        if self._engine is not None:
            self._engine.dispose()


def lead(
    election: Election,
    *,
    start: Callable[[], Any],
    stop: Callable[[Any], None],
    stopping: threading.Event,
    retry_seconds: float,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Wait to lead, run `start()` while leading, and `stop(what start returned)` when leadership
    ends or the process is told to stop (`stopping`, or `should_stop()` becoming true); a leader
    that loses its session stands by again."""
    standing_by = False
    try:
        while not stopping.is_set() and not should_stop():
            if not election.try_to_lead():
                if not standing_by:
                    log.info(
                        "standby: another process leads %s; asking again every %ss",
                        election.name,
                        retry_seconds,
                    )
                    standing_by = True
                stopping.wait(retry_seconds)
                continue
            standing_by = False
            log.info("leading %s", election.name)
            running = start()
            try:
                while not stopping.wait(CHECK_SECONDS):
                    if should_stop():
                        return
                    if not election.still_leading():
                        log.error(
                            "lost the leadership of %s (its database session ended): stopping", election.name
                        )
                        break
            finally:
                stop(running)
                election.resign()
    finally:
        election.close()
