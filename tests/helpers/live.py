"""The committee's deployment as a newcomer gets it with `make run`: intake loaded with demo data,
kpi following it, and a real Prometheus scraping kpi with the shipped configuration and its
METRICS_TOKEN credentials file. Used by tests/deploy/test_dashboard_panels.py and by
tests/deploy/dashboard_screenshots.py (docs/screenshots)."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.helpers.processes import ServiceProcess, free_port, run_cli
from tests.helpers.prometheus import shipped_config
from tests.helpers.secrets import METRICS_TOKEN

ADMIN = "dgbv_panels-admin-token-for-the-dashboard-test"
SERVICE = "dgbv_panels-service-token-for-the-dashboard-test"


class PrometheusMissing(RuntimeError):
    pass


@dataclass
class Deployment:
    intake: ServiceProcess
    kpi: ServiceProcess
    prometheus: ServiceProcess
    viewer: dict[str, str]
    coordinator: dict[str, str]

    def query(self, expr: str) -> list[dict]:
        """An instant query through Prometheus' HTTP API."""
        answer = requests.get(
            self.prometheus.url + "/api/v1/query", params={"query": expr}, timeout=10
        ).json()
        assert answer["status"] == "success", (expr, answer)
        return answer["data"]["result"]

    def kpi_json(self, path: str, **params) -> dict | list:
        response = requests.get(self.kpi.url + path, params=params, headers=self.viewer, timeout=30)
        response.raise_for_status()
        return response.json()


def wait_for(predicate, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if predicate():
                return
        time.sleep(0.5)
    raise AssertionError(message)


def _token(intake_url: str, role: str, name: str) -> dict[str, str]:
    body = {"name": name, "role": role, "bureau": None}
    answer = requests.post(
        intake_url + "/api/v1/tokens", json=body, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def reopen_locked_gaps(deployment: Deployment) -> list[tuple[str, int, int]]:
    """A coordinator reopens the current quarter for each bureau still missing it once it has
    locked, as one does for a bureau that asks: the dashboard then has a gap someone can close."""
    compliance = deployment.kpi_json("/api/v1/compliance")
    reopened = []
    for bureau in compliance["bureaus"]:
        if bureau["state"] == "overdue" and bureau["locked"]:
            path = f"{deployment.intake.url}/api/v1/reports/{bureau['bureau']}/{compliance['year']}/{compliance['quarter']}"
            headers = dict(deployment.coordinator)
            existing = requests.get(path, headers=headers, timeout=30)
            if existing.status_code == 200:
                headers["If-Match"] = existing.headers["ETag"]
            answer = requests.post(
                path + "/reopen", json={"reason": "局處請求補登"}, headers=headers, timeout=30
            )
            answer.raise_for_status()
            reopened.append((bureau["bureau"], compliance["year"], compliance["quarter"]))
    return reopened


@contextlib.contextmanager
def demo_deployment(folder: Path) -> Iterator[Deployment]:
    binary = shutil.which("prometheus")
    if binary is None:
        raise PrometheusMissing("prometheus is missing: install Debian's prometheus package (.ci/run does)")
    ports = {name: free_port() for name in ("intake", "kpi", "prometheus", "notify")}
    env = {
        "DGBV_VAR_DIR": str(folder),
        "INTAKE_ADMIN_TOKEN": ADMIN,
        "INTAKE_SERVICE_TOKEN": SERVICE,
        "INTAKE_TOKEN": SERVICE,
        "METRICS_TOKEN": METRICS_TOKEN,
        "INTAKE_URL": f"http://127.0.0.1:{ports['intake']}",
        "SYNC_INTERVAL_SECONDS": "1",
    }
    intake_env = {**env, "DATABASE_URL": f"sqlite:///{folder / 'intake.db'}"}
    kpi_env = {**env, "DATABASE_URL": f"sqlite:///{folder / 'kpi.db'}"}
    run_cli(["services.intake", "demo-data", "--if-empty"], intake_env)  # as `make run` does
    started: list[ServiceProcess] = []
    try:
        intake = ServiceProcess(["services.intake"], intake_env, ports["intake"], folder / "intake.log")
        started.append(intake.start())
        kpi = ServiceProcess(["services.kpi"], kpi_env, ports["kpi"], folder / "kpi.log")
        started.append(kpi.start())
        deployment = Deployment(
            intake,
            kpi,
            None,  # type: ignore[arg-type] - started below, once the data is in place
            _token(intake.url, "viewer", "committee"),
            _token(intake.url, "coordinator", "coordinator"),
        )
        wait_for(
            lambda: requests.get(kpi.url + "/api/v1/status", headers=deployment.viewer, timeout=5).json()[
                "demo_data"
            ],
            120,
            "kpi never computed its snapshot of the demo data",
        )
        if reopen_locked_gaps(deployment):
            wait_for(
                lambda: any(
                    not b["locked"] and b["state"] == "overdue"
                    for b in deployment.kpi_json("/api/v1/compliance")["bureaus"]
                ),
                60,
                "kpi never saw the reopened quarter",
            )
        # The shipped configuration; notify is not needed by the committee's dashboard, so its job
        # points at a port nobody listens on (its `up` is 0).
        targets = {
            "intake": f"127.0.0.1:{ports['intake']}",
            "kpi": f"127.0.0.1:{ports['kpi']}",
            "notify": f"127.0.0.1:{ports['notify']}",
        }
        config = shipped_config(folder, targets, interval="1s")
        command = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
        ]
        prometheus = ServiceProcess(
            ["prometheus"], {}, ports["prometheus"], folder / "prometheus.log", command=command
        )
        started.append(prometheus.start(wait_path="/-/ready", timeout=60))
        deployment.prometheus = prometheus
        wait_for(
            lambda: (
                deployment.query('dgbv_current_period{job="kpi"}') and deployment.query("dgbv_action_info")
            ),
            60,
            "Prometheus never scraped kpi with the shipped authorization",
        )
        yield deployment
    finally:
        for process in reversed(started):
            process.stop()
