"""deploy/prometheus/prometheus.yml as shipped, made runnable here: its token file and its targets."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers.secrets import METRICS_TOKEN

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
# Where docker-compose.yml puts the scrape token for Prometheus (its secret `metrics_token`).
TOKEN_FILE = "/run/secrets/metrics_token"


def shipped_config(
    folder: Path, targets: dict[str, str | list[str]] | None = None, interval: str | None = None
) -> Path:
    """The shipped configuration written into `folder`, changed only where this machine differs
    from the compose deployment: the token file (holding the tests' METRICS_TOKEN), the rule
    files' directory and, if given, each job's replicas (`targets`, by job name: what Docker's DNS
    would answer for the service name) and the intervals."""
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
        config["global"] = {"scrape_interval": interval, "evaluation_interval": interval}
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path
