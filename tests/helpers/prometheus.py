"""deploy/prometheus/prometheus.yml as shipped, made runnable here: its token file, its targets and
its Alertmanager, and the flags and environment docker-compose.yml starts Prometheus with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.helpers.processes import ServiceProcess, free_port
from tests.helpers.secrets import METRICS_TOKEN

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "prometheus"
# Where docker-compose.yml puts the scrape token for Prometheus (its secret `metrics_token`).
TOKEN_FILE = "/run/secrets/metrics_token"


def shipped_config(
    folder: Path,
    targets: dict[str, str | list[str]] | None = None,
    interval: str | None = None,
    alertmanager: str | None = None,
) -> Path:
    """The shipped configuration written into `folder`, changed only where this machine differs
    from the compose deployment: the token file (holding the tests' METRICS_TOKEN), the rule
    files' directory and, if given, each job's replicas (`targets`, by job name: what Docker's DNS
    would answer for the service name), the intervals and the Alertmanager (host:port; without
    one, alerts are sent nowhere)."""
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    token = folder / "metrics_token"
    token.write_text(METRICS_TOKEN)
    config["rule_files"] = [str(DEPLOY / pattern) for pattern in config["rule_files"]]
    for job in config["scrape_configs"]:
        assert job["authorization"] == {"type": "Bearer", "credentials_file": TOKEN_FILE}, job["job_name"]
        job["authorization"] = {"type": "Bearer", "credentials_file": str(token)}
        if targets is not None:
            replicas = targets[job["job_name"]]
            del job["dns_sd_configs"]
            job["static_configs"] = [{"targets": [replicas] if isinstance(replicas, str) else replicas}]
    if interval is not None:
        config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    if alertmanager is None:
        del config["alerting"]  # compose's `alertmanager:9093` does not resolve here
    else:
        config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def compose_service(name: str) -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][name]


def compose_features() -> list[str]:
    """The --enable-feature flags docker-compose.yml starts Prometheus with (external labels
    expanded from the environment: the alerts' links)."""
    return [flag for flag in compose_service("prometheus")["command"] if flag.startswith("--enable-feature=")]


def start_prometheus(
    folder: Path,
    targets: dict[str, str],
    alertmanager: str | None = None,
    links: dict[str, str] | None = None,
) -> ServiceProcess:
    """A real Prometheus on 127.0.0.1 with the shipped configuration (scraping every second), the
    flags docker-compose.yml gives it, and `links` (PUBLIC_BASE_URL, GRAFANA_URL) as its
    environment, from which the alerts' links are built."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is missing: install Debian's prometheus package (.ci/run does)")
    config = shipped_config(folder, targets, interval="1s", alertmanager=alertmanager)
    port = free_port()
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        *compose_features(),
    ]
    process = ServiceProcess(["prometheus"], links or {}, port, folder / "prometheus.log", command=command)
    return process.start(wait_path="/-/ready", timeout=60)
