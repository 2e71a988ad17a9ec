"""deploy/alertmanager as shipped: a valid configuration, every alert routed to its audience, and
one cause inhibiting what it explains, checked by amtool and by a real Alertmanager."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time

import pytest
import requests
import yaml

from tests.deploy.test_prometheus_rules import alerts
from tests.helpers.alerting import (
    ADDRESSES,
    ALERTMANAGER,
    MailCatcher,
    binary,
    start_alertmanager,
    start_sh_environment,
)
from tests.helpers.processes import free_port

SHIPPED = ALERTMANAGER / "alertmanager.yml"


@pytest.fixture(scope="module")
def amtool() -> str:
    return binary("amtool")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def render(tmp_path, **changes) -> subprocess.CompletedProcess:
    """start.sh as compose runs it, stopped short of Alertmanager (`true` in its place)."""
    env = {**start_sh_environment(free_port(), tmp_path / "alertmanager.yml"), "ALERTMANAGER_BIN": "true"}
    return run("sh", str(ALERTMANAGER / "start.sh"), env={**env, **changes})


def test_the_shipped_configuration_is_valid(amtool):
    result = run(amtool, "check-config", str(SHIPPED))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 receivers" in result.stdout and "SUCCESS" in result.stdout


def test_start_sh_fills_in_the_mail_server_and_each_audience_addresses(amtool, tmp_path):
    result = render(
        tmp_path, COMMITTEE_EMAILS="chair@ntpc.test, member@ntpc.test", SMTP_FROM="a&b|c@dgbv.test"
    )
    assert result.returncode == 0, result.stderr
    rendered = tmp_path / "alertmanager.yml"
    assert oct(rendered.stat().st_mode & 0o777) == "0o600"  # it holds the SMTP password
    checked = run(amtool, "check-config", str(rendered))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 templates" in checked.stdout
    config = yaml.safe_load(rendered.read_text())
    assert config["global"]["smtp_smarthost"].startswith("127.0.0.1:")
    assert config["global"]["smtp_from"] == "a&b|c@dgbv.test"
    assert config["global"]["smtp_require_tls"] is False  # SMTP_SECURITY=none: the local catcher
    receivers = {r["name"]: r["email_configs"][0]["to"] for r in config["receivers"]}
    assert receivers == {
        "committee": "chair@ntpc.test, member@ntpc.test",
        "coordinators": ADDRESSES["coordinators"],
        "operations": ADDRESSES["operations"],
    }
    assert config["templates"] == [str(ALERTMANAGER / "templates" / "*.tmpl")]


def test_start_sh_requires_starttls_unless_told_otherwise(tmp_path):
    assert render(tmp_path, SMTP_SECURITY="starttls").returncode == 0
    assert yaml.safe_load((tmp_path / "alertmanager.yml").read_text())["global"]["smtp_require_tls"] is True


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"OPERATIONS_EMAILS": ""}, "OPERATIONS_EMAILS is required"),
        ({"SMTP_PASSWORD": 'x"\nsmtp_require_tls: false'}, "SMTP_PASSWORD must not contain"),
        ({"SMTP_SECURITY": "tls"}, "SMTP_SECURITY must be starttls, ssl or none"),
        ({"SMTP_SECURITY": "ssl", "SMTP_PORT": "587"}, "SMTP_SECURITY=ssl needs SMTP_PORT=465"),
        ({"SMTP_PORT": "25; rm"}, "SMTP_PORT must be a port number"),
    ],
)
def test_start_sh_refuses_a_missing_or_unsafe_value_naming_it_and_starts_nothing(tmp_path, changes, message):
    result = render(tmp_path, **changes)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "alertmanager.yml").exists()


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_is_routed_to_its_audience(amtool, rule):
    labels = [f"alertname={rule['alert']}", *(f"{k}={v}" for k, v in rule["labels"].items())]
    audience = rule["labels"]["audience"]
    result = run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={SHIPPED}",
        f"--verify.receivers={audience}",
        *labels,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == audience


def test_an_alert_without_a_known_audience_still_reaches_operations(amtool):
    result = run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={SHIPPED}",
        "--verify.receivers=operations",
        "alertname=Something",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def alert(name: str, audience: str, **labels) -> dict:
    now = dt.datetime.now(dt.UTC)
    return {
        "labels": {"alertname": name, "audience": audience, "severity": "critical", **labels},
        "annotations": {"summary": f"{name} 的摘要", "description": "說明", "link": "http://127.0.0.1/"},
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(hours=1)).isoformat(),
    }


def inhibited_by(alertmanager, wanted: set[str], timeout: float = 10) -> dict[str, bool]:
    """Each alert's name -> whether Alertmanager says it is inhibited, once all `wanted` are in."""
    deadline = time.monotonic() + timeout
    while True:
        found = requests.get(alertmanager.url + "/api/v2/alerts", timeout=5).json()
        state = {a["labels"]["alertname"]: bool(a["status"]["inhibitedBy"]) for a in found}
        if set(state) >= wanted and (any(state.values()) or time.monotonic() > deadline):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"Alertmanager holds {sorted(state)}, not {sorted(wanted)}")
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("cause", "explained", "unrelated"),
    [
        # intake down: kpi's sync, its figures (the committee's and coordinators' alerts) and
        # notify's waiting outbox follow from it; notify being down does not.
        (
            alert("DGBVIntakeDown", "operations", job="intake"),
            [
                alert("DGBVKpiSyncStale", "operations", job="kpi"),
                alert("DGBVKpiSourceDown", "operations", job="kpi"),
                alert("DGBVOutboxStuck", "operations", job="notify"),
                alert("DGBVReportOverdue", "coordinators", bureau="education", period_name="民國115年第3季"),
                alert("DGBVIndicatorOffTrack", "committee", year="2026"),
            ],
            [alert("DGBVNotifyDown", "operations", job="notify")],
        ),
        # kpi down: its data alerts; intake's own alerts stay.
        (
            alert("DGBVKpiDown", "operations", job="kpi"),
            [
                alert("DGBVActionBehind", "coordinators", bureau="police", period_name="民國115年第3季"),
                alert("DGBVIndicatorAtRisk", "committee", year="2026"),
                alert("DGBVKpiSyncStale", "operations", job="kpi"),
            ],
            [alert("DGBVOutboxFailing", "operations", job="notify", rule="reminder", rule_name="提醒")],
        ),
        # kpi cannot read intake: that is why the sync is stale and the figures are old.
        (
            alert("DGBVKpiSourceDown", "operations", job="kpi"),
            [
                alert("DGBVKpiSyncStale", "operations", job="kpi"),
                alert("DGBVReportOverdue", "coordinators", bureau="labor", period_name="民國115年第3季"),
            ],
            [alert("DGBVNotifyDown", "operations", job="notify")],
        ),
    ],
    ids=["intake down", "kpi down", "kpi cannot read intake"],
)
def test_one_cause_silences_what_it_explains_and_only_that(tmp_path, cause, explained, unrelated):
    with MailCatcher() as mail:
        alertmanager = start_alertmanager(tmp_path, mail.port)
        try:
            posted = [cause, *explained, *unrelated]
            response = requests.post(alertmanager.url + "/api/v2/alerts", json=posted, timeout=5)
            assert response.status_code == 200, response.text
            state = inhibited_by(alertmanager, {a["labels"]["alertname"] for a in posted})
            assert state[cause["labels"]["alertname"]] is False
            for silenced in explained:
                assert state[silenced["labels"]["alertname"]] is True, silenced["labels"]["alertname"]
            for kept in unrelated:
                assert state[kept["labels"]["alertname"]] is False, kept["labels"]["alertname"]

            # After the groups' wait, operations get the cause (and what it does not explain);
            # the committee and the coordinators get nothing.
            operations = mail.wait_for(ADDRESSES["operations"], timeout=90)
            time.sleep(5)  # every group was created at once: theirs would have come by now
            subjects = " ".join(str(m["Subject"]) for m in mail.to(ADDRESSES["operations"]))
            assert f"{cause['labels']['alertname']} 的摘要" in subjects
            for kept in unrelated:
                assert f"{kept['labels']['alertname']} 的摘要" in subjects
            for silenced in explained:
                assert f"{silenced['labels']['alertname']} 的摘要" not in subjects
            assert operations
            assert not mail.to(ADDRESSES["committee"]) and not mail.to(ADDRESSES["coordinators"])
        finally:
            alertmanager.stop()
