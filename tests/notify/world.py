"""The world notify lives in, for tests: real intake and kpi processes, and a real SMTP server.

Intake's data is written through intake's own API in this process with a clock of
its own (a real intake process would refuse reports of 2022: they are long locked),
into the SQLite file the intake process serves. kpi is a real process following
intake's change feed; `sync()` runs its `sync-once` command so its figures are
current before notify asks.

Starting the processes takes seconds, so a test module shares one world and each
test works in a quarter of its own (`World.period`): the deadline and behind rules
only look at the quarter that just ended, so tests in different quarters do not
see each other's reports. Returned reports are seen whatever their quarter: a test
that returns one leaves it resubmitted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import threading
import time
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller

from services.intake import create_app as create_intake_app
from services.intake import installation, tokens
from services.kpi import create_app as create_kpi_app
from services.kpi import scheduler as kpi_scheduler
from services.notify.delivery import deliver
from services.notify.evaluation import evaluate
from services.notify.models import Notification
from shared import rules
from shared.catalog import default_catalog
from shared.periods import TAIPEI, Quarter
from tests.conftest import Clock
from tests.helpers.processes import ServiceProcess, free_port
from tests.helpers.reports import metric_values, read_before_write

CATALOG = default_catalog()
# For tests whose storage code runs on both backends in other tests: once, on SQLite.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
BUREAUS = [bureau.id for bureau in CATALOG.bureaus]
ROLE_TOKENS = {
    "admin": ("admin", None),
    "coordinator": ("coordinator", None),
    "statistics": ("statistics", None),
    "viewer": ("viewer", None),
    "service": ("service", None),
    **{bureau: ("bureau", bureau) for bureau in BUREAUS},
}


def address(bureau: str) -> str:
    return f"{bureau}@dgbv.example.tw"


# -- SMTP ------------------------------------------------------------------------
class Mailbox:
    """An aiosmtpd handler answering DATA from a script (default 250), keeping what it accepted."""

    def __init__(self):
        self.accepted: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.answers: list[str] = []  # the next DATA answers, e.g. ["451 4.3.0 try later"]
        self.always: str | None = None  # answer every DATA with this
        self.connections = 0
        self.delay = 0.0  # seconds before answering DATA
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        with self.lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            answer = self.always or (self.answers.pop(0) if self.answers else "250 2.0.0 OK")
            if answer.startswith("250"):
                raw = envelope.original_content or envelope.content
                self.accepted.append(email.message_from_bytes(raw, policy=email.policy.default))
                self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return answer

    def delivered(self) -> list[str]:
        """The dedup keys of the accepted messages, in order of arrival."""
        with self.lock:
            return [message["X-DGBV-Notification"] for message in self.accepted]


class SmtpServer:
    """aiosmtpd on 127.0.0.1 at a port fixed in advance, so it can be down, then up."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def delivered(self) -> list[str]:
        return self.mailbox.delivered()

    @property
    def accepted(self):
        return self.mailbox.accepted


# -- intake and kpi ------------------------------------------------------------------
def taipei(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TAIPEI).astimezone(dt.UTC)


class World:
    """Intake (seeded here, served by a process) and kpi (a process following it)."""

    def __init__(self, folder: Path, intake_db_url: str):
        self.folder = folder
        self.clock = Clock(taipei(dt.date(2022, 4, 1)))
        self.intake_db_url = intake_db_url
        # Quarters that have really ended: the intake process (on the real clock) serves those.
        last = Quarter.containing(dt.date.today()).previous()
        self._periods = iter(
            Quarter(year, quarter)
            for year in range(2023, last.year + 1)
            for quarter in (1, 2, 3, 4)
            if Quarter(year, quarter) <= last
        )
        self._taken: set[Quarter] = set()
        self.kpi_db_url = f"sqlite:///{folder / 'kpi.db'}"
        self.intake_app = create_intake_app(
            {"DATABASE_URL": intake_db_url, "CLOCK": self.clock, "TESTING": True}
        )
        self.client = self.intake_app.test_client()
        self.secrets: dict[str, str] = {}
        with self.intake_app.extensions["database"].transaction() as session:
            # The deployment holds the plan's whole history (its process would otherwise start today).
            installation.set_installed_on(session, CATALOG, None, self.clock())
            for who, (role, bureau) in ROLE_TOKENS.items():
                _, secret = tokens.mint_token(
                    session, CATALOG, name=who, role=role, bureau=bureau, created_by="test", now=self.clock()
                )
                self.secrets[who] = secret
        for bureau in BUREAUS:
            self.call(
                "admin",
                "PUT",
                f"/api/v1/bureaus/{bureau}/contacts",
                json={"contacts": [{"email": address(bureau), "name": f"{bureau} 承辦人"}]},
            )
        self.intake: ServiceProcess | None = None
        self.kpi: ServiceProcess | None = None
        self._kpi_cycle = None

    def period(self, fixed: Quarter | None = None) -> Quarter:
        """A quarter no other test of the module uses (2022 is kept for tests that name theirs)."""
        quarter = fixed or next((q for q in self._periods if q not in self._taken), None)
        assert quarter is not None, "no quarter left for this module's tests: split the module"
        assert quarter not in self._taken, f"{quarter} is used by another test"
        self._taken.add(quarter)
        return quarter

    # -- intake's API, in this process, on the day after the quarter ends -------------
    def _in(self, year: int, quarter: int) -> None:
        self.clock.now = taipei(Quarter(year, quarter).end + dt.timedelta(days=1), 10)

    def call(self, who: str, method: str, path: str, **kwargs):
        """One request; a report is read before it is written, and written with the ETag read."""
        headers = {"Authorization": f"Bearer {self.secrets[who]}"}
        headers = read_before_write(
            method, path, headers, lambda report: self.client.get(report, headers=headers).headers.get("ETag")
        )
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code < 400, (
            f"{method} {path}: {response.status_code} {response.get_data(True)}"
        )
        return response.json

    def save_report(self, bureau: str, year: int, quarter: int, value: int = 1, values: dict | None = None):
        """A complete report: every metric `value`, except those given in `values` ({action: {metric: v}})."""
        self._in(year, quarter)
        values = values or {}
        body = {
            "narrative": "本季依計畫辦理。",
            "actions": [
                {
                    "action": action.id,
                    **metric_values(action, value, values.get(action.id)),
                    "delay_reason": "人力調度不及",
                    "countermeasure": "下季加開場次",
                }
                for action in CATALOG.actions_for(bureau)
            ],
        }
        return self.call(bureau, "PUT", f"/api/v1/reports/{bureau}/{year}/{quarter}", json=body)

    def submit(self, bureau: str, year: int, quarter: int, value: int = 1, values: dict | None = None):
        self.save_report(bureau, year, quarter, value, values)
        return self.call(bureau, "POST", f"/api/v1/reports/{bureau}/{year}/{quarter}/submit")

    def return_report(self, bureau: str, year: int, quarter: int, comment: str):
        self._in(year, quarter)
        return self.call(
            "coordinator",
            "POST",
            f"/api/v1/reports/{bureau}/{year}/{quarter}/return",
            json={"comment": comment},
        )

    def accept(self, bureau: str, year: int, quarter: int):
        self._in(year, quarter)
        return self.call("coordinator", "POST", f"/api/v1/reports/{bureau}/{year}/{quarter}/accept")

    def reopen(self, bureau: str, year: int, quarter: int, reason: str, at: dt.datetime):
        """A coordinator reopens the bureau's quarter at `at` (typically once it is locked)."""
        self.clock.now = at
        return self.call(
            "coordinator",
            "POST",
            f"/api/v1/reports/{bureau}/{year}/{quarter}/reopen",
            json={"reason": reason},
        )

    def target(self, year: int, action: str, metric: str, annual: int, quarterly=None):
        return self.call(
            "coordinator",
            "PUT",
            f"/api/v1/targets/{year}/{action}/{metric}",
            json={"annual": annual, "quarterly": quarterly},
        )

    def outcomes(self, indicator: str, by_year: dict[int, list[int]]):
        """Quarterly counts from Q1 of each year."""
        last = max(by_year)
        self._in(last, len(by_year[last]))
        items = [
            {"indicator": indicator, "year": year, "quarter": q, "count": count}
            for year, counts in by_year.items()
            for q, count in enumerate(counts, start=1)
        ]
        return self.call("statistics", "POST", "/api/v1/outcomes", json={"items": items})

    # -- the processes -------------------------------------------------------------
    @property
    def kpi_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.kpi_db_url,
            "INTAKE_URL": self.intake.url,
            "INTAKE_TOKEN": self.secrets["service"],
            "SYNC_INTERVAL_SECONDS": "3600",  # the first cycle at start; later ones by sync()
            "SYNC_WAIT_SECONDS": "0",  # not on each commit either: the tests' cycles run on their clock
        }

    def start(self) -> World:
        """Start intake and kpi side by side, then bring kpi's figures up to date."""
        self.intake = ServiceProcess(
            ["services.intake", "run"],
            {"DATABASE_URL": self.intake_db_url, "WEB_WORKERS": "1"},
            free_port(),
            self.folder / "intake.log",
        )
        self.kpi = ServiceProcess(["services.kpi", "run"], self.kpi_env, free_port(), self.folder / "kpi.log")
        for process in (self.intake, self.kpi):
            process.start(wait_path=None)
        for process in (self.intake, self.kpi):
            process.wait_until_up()
            # not another service that answered on a port reused meanwhile
            assert process.process.poll() is None, f"{process.args} exited:\n{process.log()}"
        deadline = time.monotonic() + 30
        while self.kpi_get("/api/v1/status")["snapshot_at"] is None:  # kpi's own first cycle, at start
            assert time.monotonic() < deadline, f"kpi's first cycle did not end:\n{self.kpi.log()}"
            time.sleep(0.05)
        self.sync()  # that cycle may have run before intake was up
        return self

    def sync(self) -> None:
        """Bring kpi's figures up to date with intake: one cycle of kpi's scheduler (its sync and
        recompute, on the kpi process's database), run here to spare a process start per call."""
        if self._kpi_cycle is None:
            self._kpi_cycle = create_kpi_app({**self.kpi_env, "SYNC_RETRIES": 0})
        result = kpi_scheduler.run_cycle(self._kpi_cycle)
        assert result.ok, result.error

    def kpi_get(self, path: str, **params):
        response = requests.get(
            self.kpi.url + path, params=params, headers={"Authorization": f"Bearer {self.secrets['service']}"}
        )
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        for process in (self.kpi, self.intake):
            if process is not None:
                process.kill()  # nothing to flush: their data is thrown away with the test
        if self._kpi_cycle is not None:
            self._kpi_cycle.extensions["database"].dispose()
        self.intake_app.extensions["database"].dispose()


# -- notify ----------------------------------------------------------------------------
def days_before_due(quarter: Quarter, days: int, hour: int = 9) -> dt.datetime:
    """The instant `days` days before the quarter's due date (negative: after), in Taipei."""
    return taipei(rules.due_date(CATALOG.reporting, quarter) - dt.timedelta(days=days), hour)


def after_lock(quarter: Quarter, days: int = 5) -> dt.datetime:
    """09:00 in Taipei `days` days after the quarter has locked for its bureaus. A sender process runs
    on the real clock, on which the world's quarters are locked: its re-checks agree with notices
    written then (a notice that asks for a report the page refuses is cancelled)."""
    return days_before_due(quarter, -(CATALOG.reporting.lock_days + days))


def only(keys, quarter: Quarter) -> list[str]:
    """The dedup keys of one quarter, sorted."""
    return sorted(key for key in keys if f":{quarter.year}Q{quarter.quarter}:" in key)


def notify_settings(world: World, database_url: str, smtp_port: int, clock, **overrides) -> dict:
    return {
        "DATABASE_URL": database_url,
        "INTAKE_URL": world.intake.url,
        "KPI_URL": world.kpi.url,
        "INTAKE_TOKEN": world.secrets["service"],
        "CLOCK": clock,
        "TESTING": True,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "SMTP_SECURITY": "none",
        "SMTP_FROM": "dgbv-notify@ntpc.example.tw",
        "SMTP_TIMEOUT": 5,
        "PUBLIC_BASE_URL": "https://dgbv.ntpc.example.tw",
        "COMMITTEE_EMAILS": ["committee-a@ntpc.example.tw", "committee-b@ntpc.example.tw"],
        # In-process schedulers follow at the interval: a long poll left behind by each stopped one
        # would hold one of the module's intake threads for up to its wait.
        "FOLLOW_WAIT_SECONDS": 0,
        **overrides,
    }


class Notify:
    """A notify app on a real database, evaluating and sending as the scheduler would."""

    def __init__(self, app, secrets: dict[str, str]):
        self.app = app
        self.notifier = app.extensions["notifier"]
        self.client = app.test_client()
        self.secrets = secrets

    def evaluate(self, **kwargs) -> dict:
        return evaluate(self.notifier, trigger="test", **kwargs)

    def deliver(self):
        return deliver(self.notifier)

    def rows(self, **filters) -> list[Notification]:
        with self.notifier.database.session(write=False) as session:
            query = session.query(Notification).filter_by(**filters).order_by(Notification.id)
            return query.all()

    def statuses(self) -> dict[str, str]:
        return {row.dedup_key: row.status for row in self.rows()}

    def api(self, who: str | None, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.secrets.get(who, who)}"} if who else {}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def close(self) -> None:
        self.app.extensions["database"].dispose()
