"""One plan, one truth: intake's form, kpi's API and metrics, and notify's e-mails judge alike.

Real processes serve intake (the system of record) and kpi, as in production; kpi's cycles and
notify's evaluations run here on a test clock, on the processes' databases, and kpi reads intake's
change feed over HTTP. Each Hypothesis example is a year of the plan: targets, one bureau's reports
with values just under, at and over the catalog's behind-plan threshold, caseload metrics, and the
indicators' counts. The example walks its quarter through its life: a submission before the quarter
ends (refused), one after it ends but before its due date (accepted, judged by nobody), then the due
date passes (judged). At each step the services must name exactly the same actions behind plan and
give the same indicator verdicts.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import shutil
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from services.intake import SERVICE_DIR as INTAKE_DIR
from services.intake import create_app as create_intake_app
from services.intake import installation, tokens, users
from services.intake.models import User
from services.kpi import SERVICE_DIR as KPI_DIR
from services.kpi import create_app as create_kpi_app
from services.kpi import scheduler as kpi_scheduler
from services.notify import SERVICE_DIR as NOTIFY_DIR
from services.notify import create_app as create_notify_app
from services.notify.delivery import deliver
from services.notify.evaluation import evaluate
from shared import rules
from shared.catalog import DEFAULT_CATALOG_PATH, load_catalog
from shared.periods import TAIPEI, Quarter
from tests.conftest import Clock
from tests.helpers.databases import sqlite_template
from tests.helpers.processes import ServiceProcess, free_port
from tests.helpers.reports import metric_values, read_before_write
from tests.helpers.secrets import METRICS_TOKEN, SCRAPE_HEADERS
from tests.intake.web.conftest import PASSWORD, SECRET_KEY, Browser, text_of
from tests.notify.world import SmtpServer

FIRST_YEAR = 2040  # the deployment was installed on 1 January 2040: it tracks from 2040Q1
NO_GOAL_YEARS = frozenset({2041, 2045})  # the city set no goal: counts and trend, no verdict
BUREAU = "police"
COMMITTEE = "committee@ntpc.example.tw"
THRESHOLD = Decimal("0.9")


def write_catalog(folder: Path) -> Path:
    """New Taipei's plan with a continuation goal for every test year except the ones without."""
    plan = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    plan["goals"] += [
        {
            "year": year,
            "baseline_year": year - 1,
            "reduction": 0.03,
            "kind": "continuation",
            "text": f"比照原方案，{year - 1911} 年底較前一年下降 3%（測試用）。",
        }
        for year in range(FIRST_YEAR, FIRST_YEAR + 80)
        if year not in NO_GOAL_YEARS
    ]
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    return path


def taipei(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TAIPEI).astimezone(dt.UTC)


class Deployment:
    """intake and kpi running as processes; intake's logic, kpi's cycle and notify here, on one clock."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.catalog_path = write_catalog(folder)
        self.catalog = load_catalog(self.catalog_path)
        self.clock = Clock(taipei(dt.date(FIRST_YEAR, 1, 2)))
        self.intake_db = sqlite_template(folder / "intake", INTAKE_DIR).copy_to(folder / "intake.db")
        self.kpi_db = sqlite_template(folder / "kpi", KPI_DIR).copy_to(folder / "kpi.db")
        self.notify_db = sqlite_template(folder / "notify", NOTIFY_DIR).copy_to(folder / "notify.db")
        self.intake_app = create_intake_app(
            {
                "DATABASE_URL": self.intake_db,
                "CLOCK": self.clock,
                "TESTING": True,
                "CATALOG_PATH": str(self.catalog_path),
                "SECRET_KEY": SECRET_KEY,
                "SESSION_COOKIE_SECURE": False,
            }
        )
        self.secrets: dict[str, str] = {}
        with self.intake_app.extensions["database"].transaction() as session:
            installation.set_installed_on(session, self.catalog, dt.date(FIRST_YEAR, 1, 1), self.clock())
            for who, role, bureau in (
                ("admin", "admin", None),
                ("coordinator", "coordinator", None),
                ("statistics", "statistics", None),
                ("service", "service", None),
                (BUREAU, "bureau", BUREAU),
            ):
                _, self.secrets[who] = tokens.mint_token(
                    session,
                    self.catalog,
                    name=who,
                    role=role,
                    bureau=bureau,
                    created_by="test",
                    now=self.clock(),
                )
            session.add(
                User(
                    username="clerk",
                    name="陳警員",
                    role="bureau",
                    bureau=BUREAU,
                    password_hash=users.hash_password(PASSWORD),
                    active=True,
                    created_at=self.clock(),
                    created_by="test",
                )
            )
        self.client = self.intake_app.test_client()
        self.call(
            "admin",
            "PUT",
            f"/api/v1/bureaus/{BUREAU}/contacts",
            {"contacts": [{"email": "police@ntpc.example.tw"}]},
        )
        self.smtp = SmtpServer().start()
        self.intake = self.kpi = None
        self._kpi_cycle = self._notify = None

    def call(self, who: str, method: str, path: str, body=None, expect: int = 200):
        headers = {"Authorization": f"Bearer {self.secrets[who]}"}
        headers = read_before_write(
            method, path, headers, lambda report: self.client.get(report, headers=headers).headers.get("ETag")
        )
        response = self.client.open(path, method=method, headers=headers, json=body)
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.get_data(True)}"
        )
        return response

    # -- the processes ------------------------------------------------------------------------------
    def start(self) -> Deployment:
        common = {
            "DGBV_CATALOG": str(self.catalog_path),
            "DGBV_VAR_DIR": str(self.folder),
            "WEB_WORKERS": "1",
        }
        self.intake = ServiceProcess(
            ["services.intake", "run"],
            {**common, "DATABASE_URL": self.intake_db},
            free_port(),
            self.folder / "intake.log",
        ).start()
        self.kpi_env = {
            **common,
            "DATABASE_URL": self.kpi_db,
            "INTAKE_URL": self.intake.url,
            "INTAKE_TOKEN": self.secrets["service"],
            "METRICS_TOKEN": METRICS_TOKEN,
            "SYNC_INTERVAL_SECONDS": "3600",  # its own first cycle at start; the tests' cycles by sync()
            "SYNC_WAIT_SECONDS": "0",  # not on each commit either: the tests' cycles run on their clock
        }
        self.kpi = ServiceProcess(
            ["services.kpi", "run"], self.kpi_env, free_port(), self.folder / "kpi.log"
        ).start()
        deadline = time.monotonic() + 30
        while self.kpi_get("/api/v1/status")["snapshot_at"] is None:  # kpi's own cycle, on the real clock
            assert time.monotonic() < deadline, self.kpi.log()
            time.sleep(0.05)
        self._kpi_cycle = create_kpi_app(
            {**self.kpi_env, "CATALOG_PATH": str(self.catalog_path), "CLOCK": self.clock, "SYNC_RETRIES": 0}
        )
        self._notify = create_notify_app(
            {
                "DATABASE_URL": self.notify_db,
                "INTAKE_URL": self.intake.url,
                "KPI_URL": self.kpi.url,
                "INTAKE_TOKEN": self.secrets["service"],
                "CATALOG_PATH": str(self.catalog_path),
                "CLOCK": self.clock,
                "TESTING": True,
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": self.smtp.port,
                "SMTP_SECURITY": "none",
                "SMTP_FROM": "dgbv-notify@ntpc.example.tw",
                "COMMITTEE_EMAILS": [COMMITTEE],
                "KPI_MAX_AGE_SECONDS": 10**9,  # kpi's figures are as old as the test clock says
            }
        )
        return self

    def stop(self) -> None:
        for process in (self.kpi, self.intake):
            if process is not None:
                process.stop()
        for app in (self._kpi_cycle, self._notify, self.intake_app):
            if app is not None:
                app.extensions["database"].dispose()
        self.smtp.stop()

    def sync(self) -> None:
        """One cycle of kpi's scheduler on the test clock: follow intake's feed, recompute."""
        result = kpi_scheduler.run_cycle(self._kpi_cycle)
        assert result.ok, result.error

    def kpi_get(self, path: str, **params):
        response = requests.get(
            self.kpi.url + path,
            params=params,
            headers={"Authorization": f"Bearer {self.secrets['service']}"},
            timeout=30,
        )
        assert response.status_code in (200, 404), response.text
        return response.json()

    def metrics(self) -> dict[tuple[str, frozenset], float]:
        text = requests.get(self.kpi.url + "/metrics", headers=SCRAPE_HEADERS, timeout=30).text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def notify(self) -> list:
        """Evaluate and send as notify's scheduler would; the e-mails that arrived."""
        arrived = len(self.smtp.accepted)
        notifier = self._notify.extensions["notifier"]
        evaluate(notifier, trigger="test")
        deliver(notifier)
        return self.smtp.accepted[arrived:]


@pytest.fixture(scope="module")
def deployment():
    folder = Path(tempfile.mkdtemp(prefix="dgbv-agree-"))
    deployment = Deployment(folder)
    try:
        yield deployment.start()
    finally:
        deployment.stop()
        shutil.rmtree(folder, ignore_errors=True)


# -- one year of the plan, generated ------------------------------------------------------------------
@st.composite
def plans(draw):
    """Targets and year-to-date values of the bureau's output metrics around 90% of their plan."""
    quarter = draw(st.integers(1, 4))
    output, caseload = {}, {}
    catalog = load_catalog(DEFAULT_CATALOG_PATH)
    for action in catalog.actions_for(BUREAU):
        for metric in action.metrics:
            if not metric.judged:
                caseload[(action.id, metric.id)] = draw(
                    st.lists(st.integers(0, 30), min_size=quarter, max_size=quarter)
                )
                continue
            annual = draw(st.sampled_from([40, 80, 120, 200, 37, 3]))
            planned = Decimal(annual) * quarter / 4
            at_threshold = math.ceil(planned * THRESHOLD)
            # Just under, exactly at (where 90% is whole), just over, far under, far over.
            to_date = max(0, at_threshold + draw(st.sampled_from([-1, 0, 1, -at_threshold, 2 * annual])))
            output[(action.id, metric.id)] = (annual, to_date)
    counts = {
        indicator.id: draw(st.lists(st.integers(20, 60), min_size=4 + quarter, max_size=4 + quarter))
        for indicator in catalog.indicators
    }
    return {"quarter": quarter, "output": output, "caseload": caseload, "counts": counts}


def split(total: int, parts: int) -> list[int]:
    """`total` over `parts` quarters, the last taking the rest."""
    each = total // parts
    return [each] * (parts - 1) + [total - each * (parts - 1)]


def report_body(values: dict[tuple[str, str], int], explain: set[str] = frozenset()) -> dict:
    catalog = load_catalog(DEFAULT_CATALOG_PATH)
    actions = []
    for action in catalog.actions_for(BUREAU):
        entry = {
            "action": action.id,
            **metric_values(action, 0, {m: values[(action.id, m)] for (a, m) in values if a == action.id}),
        }
        if action.id in explain:
            entry.update(delay_reason="人力調度不及", countermeasure="下季加開場次")
        actions.append(entry)
    return {"narrative": "本季依計畫辦理。", "actions": actions}


YEARS = itertools.count(FIRST_YEAR)


def key_of(message) -> str:
    """The notification a message is; a long header is folded, and a mail reader unfolds it."""
    return str(message["X-DGBV-Notification"]).strip()


def sample(samples, name: str, **labels):
    """The value of the one series of `name` with these code labels (their names travel beside them)."""
    wanted = set(labels.items())
    found = [value for (metric, key), value in samples.items() if metric == name and wanted <= key]
    assert len(found) <= 1, (name, labels)
    return found[0] if found else None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans())
def test_form_kpi_metrics_and_emails_name_the_same_actions_and_verdicts(deployment, plan):
    year, q = next(YEARS), plan["quarter"]
    quarter = Quarter(year, q)
    path = f"/api/v1/reports/{BUREAU}/{year}/{q}"
    clock, catalog = deployment.clock, deployment.catalog

    # The year's targets and counts, set at its start.
    clock.now = taipei(dt.date(year, 1, 3))
    for (action, metric), (annual, _) in plan["output"].items():
        deployment.call("coordinator", "PUT", f"/api/v1/targets/{year}/{action}/{metric}", {"annual": annual})
    by_quarter = {key: split(to_date, q) for key, (_, to_date) in plan["output"].items()}
    by_quarter |= plan["caseload"]

    # The earlier quarters are submitted, each explaining what intake finds behind.
    for earlier in range(1, q):
        clock.now = taipei(Quarter(year, earlier).end + dt.timedelta(days=2))
        values = {key: series[earlier - 1] for key, series in by_quarter.items()}
        earlier_path = f"/api/v1/reports/{BUREAU}/{year}/{earlier}"
        deployment.call(BUREAU, "PUT", earlier_path, report_body(values))
        behind = set(deployment.call(BUREAU, "GET", earlier_path).json["behind"])
        deployment.call(BUREAU, "PUT", earlier_path, report_body(values, behind))
        deployment.call(BUREAU, "POST", earlier_path + "/submit")

    # The quarter's values, before it ends: a draft is saved, a submission refused.
    values = {key: series[q - 1] for key, series in by_quarter.items()}
    clock.now = taipei(quarter.end - dt.timedelta(days=3))
    deployment.call(BUREAU, "PUT", path, report_body(values))
    early = deployment.call(BUREAU, "POST", path + "/submit", expect=422)
    assert "尚未結束" in early.json["detail"]
    deployment.sync()
    assert deployment.kpi_get("/api/v1/progress", year=year, quarter=q)["status"] == 404  # not tracked yet

    # After the quarter, before its due date: the form asks for reasons where intake finds the
    # action behind, the API says the same, and the report is accepted with exactly those reasons.
    clock.now = taipei(quarter.end + dt.timedelta(days=2))
    browser = Browser(deployment.intake_app)
    assert browser.sign_in("clerk").status_code == 303
    form = text_of(browser.get(f"/reports/{BUREAU}/{year}/{q}"))
    asked_by_form = {a.id for a in catalog.actions_for(BUREAU) if f'id="behind-{a.id}"' in form}
    demanded = set(deployment.call(BUREAU, "GET", path).json["behind"])
    expected = {
        action
        for (action, metric), (annual, to_date) in plan["output"].items()
        if rules.judge(
            catalog.metric(action, metric), rules.planned_to_date(annual, None, q), to_date, THRESHOLD
        ).behind
    }
    assert asked_by_form == demanded == expected
    deployment.call(BUREAU, "PUT", path, report_body(values, expected))
    deployment.call(BUREAU, "POST", path + "/submit")
    deployment.sync()
    not_due = deployment.kpi_get("/api/v1/progress", year=year, quarter=q)
    assert not_due["due_passed"] is False and not [row for row in not_due["actions"] if row["behind"]]
    assert not [
        m
        for m in deployment.notify()
        if m["Subject"].startswith("【進度落後】") and quarter.label_zh in m["Subject"]
    ]

    # The due date has passed and the police statistics are in: kpi judges, its metrics say so,
    # notify e-mails exactly those actions.
    clock.now = taipei(rules.due_date(catalog.reporting, quarter) + dt.timedelta(days=1))
    counted = [Quarter(year - 1, n) for n in (1, 2, 3, 4)] + quarter.year_to_date()
    items = [
        {"indicator": indicator, "year": of.year, "quarter": of.quarter, "count": count}
        for indicator, series in plan["counts"].items()
        for of, count in zip(counted, series, strict=True)
    ]
    deployment.call("statistics", "POST", "/api/v1/outcomes", {"items": items})
    deployment.sync()
    progress = deployment.kpi_get("/api/v1/progress", bureau=BUREAU)
    assert (progress["year"], progress["quarter"]) == (year, q)  # the current reporting quarter
    judged_by_kpi = {row["action"] for row in progress["actions"] if row["behind"]}
    samples = deployment.metrics()
    in_metrics = {
        dict(labels)["action"]
        for (name, labels), value in samples.items()
        if name == "dgbv_action_behind" and value == 1 and dict(labels)["bureau"] == BUREAU
    }
    mails = deployment.notify()
    behind_mails = [m for m in mails if key_of(m) == f"behind:{BUREAU}:{year}Q{q}:1"]
    body = behind_mails[0].get_body(("plain",)).get_content() if behind_mails else ""
    in_email = {a.id for a in catalog.actions_for(BUREAU) if a.text[:30] in body}
    assert judged_by_kpi == in_metrics == in_email == expected
    assert not {row["action"] for row in progress["actions"] if row["kind"] == "caseload" and row["behind"]}

    # The indicators: kpi's API, its metrics and the committee's e-mails give one verdict each.
    indicators = {item["indicator"]: item for item in deployment.kpi_get("/api/v1/indicators")}
    for indicator in catalog.indicators:
        verdict = indicators[indicator.id]
        assert verdict["year"] == year
        goal = "none" if year in NO_GOAL_YEARS else "continuation"
        assert (verdict["goal"] or {}).get("kind", "none") == goal
        if goal == "none":
            assert verdict["status"] == "no_goal"
        status_metric = sample(
            samples,
            "dgbv_indicator_status",
            indicator=indicator.id,
            year=str(year),
            goal=goal,
            status=verdict["status"],
        )
        assert status_metric == 1
        alerts = [m for m in mails if key_of(m) == f"committee:{indicator.id}:{year}Q{q}:{verdict['status']}"]
        assert len(alerts) == (1 if verdict["status"] in ("at_risk", "off_track") else 0)
        assert not [
            m for m in mails if key_of(m).startswith(f"committee:{indicator.id}:") and m not in alerts
        ]
