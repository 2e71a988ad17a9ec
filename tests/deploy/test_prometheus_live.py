"""Every dashboard query and every rule, run by a real Prometheus against the three real services."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from pathlib import Path

import pytest
import requests
import yaml

from services.notify.models import RULE_NAMES
from shared.catalog import default_catalog
from shared.observability import SERVICE_NAMES
from shared.periods import Quarter
from tests.deploy.test_dashboards import dashboard_expressions
from tests.helpers import dashboards
from tests.helpers.processes import ServiceProcess, free_port, run_cli
from tests.helpers.prometheus import compose_features, shipped_config
from tests.helpers.secrets import METRICS_TOKEN, SCRAPE_HEADERS
from tests.intake.conftest import full_report
from tests.intake.test_cases import record

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "dgbv_live-admin-token-for-the-prometheus-test"
SERVICE = "dgbv_live-service-token-for-the-prometheus-test"
COMPARISON = re.compile(r"^(?P<lhs>.*?)\s*(==|!=|>=|<=|>|<)\s*-?[0-9.e]+\s*$", re.S)


def rule_expressions() -> list[tuple[str, str]]:
    """(rule name, PromQL) for every rule; an alert's threshold is dropped so a healthy system still answers."""
    found = []
    for path in sorted((ROOT / "deploy/prometheus/rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    found.append((rule["record"], rule["record"]))
                    found.append((rule["record"] + " (expr)", rule["expr"]))
                else:
                    match = COMPARISON.match(rule["expr"].strip())
                    found.append((rule["alert"], match.group("lhs") if match else rule["expr"]))
    return found


def populate(intake_url: str) -> None:
    """A realistic slice of the plan: history, a target year, reports on time, late and missing, cases."""
    admin = {"Authorization": f"Bearer {ADMIN}"}

    def token(role, name, bureau=None):
        body = {"name": name, "role": role, "bureau": bureau}
        return {
            "Authorization": f"Bearer {requests.post(intake_url + '/api/v1/tokens', json=body, headers=admin, timeout=30).json()['token']}"
        }

    stats, coordinator, police = (
        token("statistics", "stats"),
        token("coordinator", "coord"),
        token("bureau", "police", "police"),
    )
    # The plan's own years and the current year with the year before it (its goal's baseline).
    ended = Quarter.containing(dt.date.today()).previous()
    items = [
        {"indicator": indicator.id, "year": year, "quarter": q, "count": 40 + q + (year - 2021) * 3}
        for indicator in default_catalog().indicators
        for year in sorted({2021, 2022, ended.year - 1, ended.year})
        for q in (1, 2, 3, 4)
        if Quarter(year, q) <= ended
    ]
    assert requests.post(intake_url + "/api/v1/outcomes", json={"items": items}, headers=stats, timeout=30).ok
    records = [
        record(f"LIVE-{i}", types=[2, 5], sex="female" if i % 2 else "male", date="2022-05-01")
        for i in range(20)
    ]
    assert requests.post(
        intake_url + "/api/v1/cases", json={"records": records}, headers=stats, timeout=30
    ).ok

    # The last quarter whose report is due: it is locked by now, so a coordinator reopens it and
    # the police submit late; the other bureaus stay overdue. Education's quarter is reopened too
    # and left unsubmitted: a gap it can still close (dgbv_report_open_gap, DGBVReportOverdue).
    today = dt.date.today()
    quarter = Quarter.containing(today).previous()
    for action in default_catalog().actions_for("police"):
        for metric in (m for m in action.metrics if m.judged):  # caseload metrics have no target
            url = f"{intake_url}/api/v1/targets/{quarter.year}/{action.id}/{metric.id}"
            assert requests.put(url, json={"annual": 400}, headers=coordinator, timeout=30).ok
    report = f"{intake_url}/api/v1/reports/police/{quarter.year}/{quarter.quarter}"
    reopened = requests.post(report + "/reopen", json={"reason": "延後填報"}, headers=coordinator, timeout=30)
    reopened.raise_for_status()
    education = f"{intake_url}/api/v1/reports/education/{quarter.year}/{quarter.quarter}"
    reopen = requests.post(education + "/reopen", json={"reason": "補登"}, headers=coordinator, timeout=30)
    reopen.raise_for_status()
    body = full_report("police", 5, delay_reason="人力不足", countermeasure="下季補辦")
    saved = requests.put(
        report, json=body, headers={**police, "If-Match": reopened.headers["ETag"]}, timeout=30
    )
    assert saved.ok
    assert requests.post(
        report + "/submit", headers={**police, "If-Match": saved.headers["ETag"]}, timeout=30
    ).ok


@pytest.fixture
def services(tmp_path):
    """intake, kpi and notify as real processes on 127.0.0.1, with data, plus a mail catcher."""
    ports = {name: free_port() for name in ("intake", "kpi", "notify", "smtp")}
    env = {
        "DGBV_VAR_DIR": str(tmp_path),
        "INTAKE_ADMIN_TOKEN": ADMIN,
        "INTAKE_SERVICE_TOKEN": SERVICE,
        "INTAKE_TOKEN": SERVICE,
        "METRICS_TOKEN": METRICS_TOKEN,
        "INTAKE_URL": f"http://127.0.0.1:{ports['intake']}",
        "KPI_URL": f"http://127.0.0.1:{ports['kpi']}",
        "SYNC_INTERVAL_SECONDS": "1",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(ports["smtp"]),
        "SMTP_SECURITY": "none",
        "COMMITTEE_EMAILS": "committee@example.org",
        # intake's pages, which the alerts link to (tests/deploy/test_alerting_live.py opens them)
        "SECRET_KEY": "secret-key-of-the-prometheus-live-test",
        "SESSION_COOKIE_SECURE": "false",
    }
    started = {}
    try:
        for name, args in (
            (
                "smtp",
                ["services.notify", "catcher", "--port", str(ports["smtp"]), "--dir", str(tmp_path / "mail")],
            ),
            ("intake", ["services.intake"]),
            ("kpi", ["services.kpi"]),
            ("notify", ["services.notify"]),
        ):
            database = {"DATABASE_URL": f"sqlite:///{tmp_path / name}.db"} if name != "smtp" else {}
            if name == "intake":  # a deployment that holds the plan's history, not one installed today
                run_cli(["services.intake", "installed-on"], {**env, **database})
            process = ServiceProcess(args, {**env, **database}, ports[name], tmp_path / f"{name}.log")
            started[name] = process
            process.start(wait_path=None if name == "smtp" else "/healthz")
            if name == "intake":
                populate(process.url)
        yield started
    finally:
        for process in reversed(started.values()):
            process.stop()


def wait_for(predicate, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(message)


@pytest.fixture
def prometheus(services, tmp_path):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: install Debian's prometheus package (.ci/run does)")
    # The shipped configuration, scraping with its `authorization`: only the targets, the token
    # file's place and the intervals differ from the compose deployment.
    targets = {name: services[name].url.removeprefix("http://") for name in ("intake", "kpi", "notify")}
    config = shipped_config(tmp_path, targets, interval="1s")
    port = free_port()
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        *compose_features(),
    ]
    env = {"PUBLIC_BASE_URL": services["intake"].url, "GRAFANA_URL": "http://127.0.0.1:3000"}
    process = ServiceProcess(["prometheus"], env, port, tmp_path / "prometheus.log", command=command)
    process.start(wait_path="/-/ready", timeout=60)
    try:
        yield process
    finally:
        process.stop()


def query(prometheus, expr: str) -> list:
    response = requests.get(prometheus.url + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert response["status"] == "success", (expr, response)
    return response["data"]["result"]


def test_every_dashboard_query_and_every_rule_returns_series_from_the_real_services(services, prometheus):
    kpi = services["kpi"]
    wait_for(
        lambda: (
            requests.get(kpi.url + "/metrics", headers=SCRAPE_HEADERS, timeout=5).text.count(
                "dgbv_report_days_late{"
            )
            > 0
        ),
        60,
        "kpi never computed its snapshot",
    )
    notify = services["notify"]
    evaluation = requests.post(
        notify.url + "/api/v1/evaluations", json={}, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
    )
    assert evaluation.status_code < 300, evaluation.text

    expressions = [
        (f"{board}: {title}", expr)
        for board, title, expr in dashboard_expressions()
        if board != "committee.json"
    ]
    expressions += rule_expressions()
    missing = list(expressions)
    deadline = time.monotonic() + 90
    while missing and time.monotonic() < deadline:
        missing = [(name, expr) for name, expr in missing if not query(prometheus, expr)]
        if missing:
            time.sleep(1)
    assert not missing, "queries without series:\n" + "\n".join(f"{name}: {expr}" for name, expr in missing)
    # The operations dashboard as a person reads it: services and e-mail kinds by name, never a code.
    operations = {
        p["title"]: dashboards.render(p, lambda expr: query(prometheus, expr), {})
        for p in dashboards.data_panels(dashboards.board("operations.json"))
    }
    for title, found in operations.items():
        assert found.series, title
        for name in found.series:
            assert dashboards.has_chinese(name) and not re.search(r"[A-Za-z]", name), (title, name)
    services_by_name = set(SERVICE_NAMES.values())
    assert set(operations["服務是否運作"].series) == services_by_name
    assert set(operations["服務是否運作"].series.values()) == {"運作中"}
    for title in ("每秒請求數", "錯誤率（5xx）", "延遲 p95"):  # the services that answered requests
        assert set(operations[title].series) <= services_by_name, title
    # Mail: three lines of every kind together, and the failures one line per kind of message.
    assert set(operations["信件：建立、寄出、失敗（每小時）"].series) == {"建立", "寄出", "失敗"}
    assert set(operations["寄送失敗的信件（每小時，依信件類別）"].series) == set(RULE_NAMES.values())
    # The operations dashboard and every rule answer from this small plan. The committee's
    # dashboard is proven panel by panel on the demo data (test_dashboard_panels.py); here its
    # queries, with the variables at their defaults, must still be valid PromQL.
    values, _ = dashboards.default_values(
        dashboards.board("committee.json"), lambda expr: query(prometheus, expr)
    )
    for board, _title, expr in dashboard_expressions():
        if board == "committee.json":
            query(prometheus, dashboards.substitute(expr, values))
    assert {r["metric"]["job"] for r in query(prometheus, "up == 1")} == {"intake", "kpi", "notify"}


def test_the_services_refuse_a_scrape_without_the_token_that_prometheus_sends(services, prometheus):
    for name in ("intake", "kpi", "notify"):
        refused = requests.get(services[name].url + "/metrics", timeout=5)
        assert refused.status_code == 401, name
        assert "dgbv_" not in refused.text, name
    wait_for(
        lambda: {r["metric"]["job"] for r in query(prometheus, "up == 1")} == {"intake", "kpi", "notify"},
        30,
        "Prometheus did not scrape the three services with the shipped authorization",
    )
    # What Prometheus stored came through the token: kpi's figures are there.
    assert query(prometheus, 'dgbv_sync_cursor{job="kpi"}')
