"""The compose deployment, outside Docker: the same processes on 127.0.0.1 and one PostgreSQL.

Each service runs as N replicas under gunicorn (as the image's entry point runs them), each
replica with its own port and its own Prometheus multiprocess directory (as each container has);
kpi and notify each run M scheduler processes; Debian's Caddy serves the shipped Caddyfile in front
of the replicas with a self-signed certificate; notify sends to the real development catcher
(aiosmtpd). What Docker would do differently is said where it happens:
- Docker's DNS names every replica of a service; here the Caddyfile's `dynamic a` upstreams are
  replaced by the replicas' addresses (`caddy_config`), and Prometheus' `dns_sd_configs` by the
  same addresses (tests/helpers/prometheus.py).
- Services reach each other at `http://intake:8001` in compose (Docker's DNS spreads connections
  over the replicas); here they go through the proxy, which spreads them the same way.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from services.intake import SERVICE_DIR as INTAKE_DIR
from services.kpi import SERVICE_DIR as KPI_DIR
from services.notify import SERVICE_DIR as NOTIFY_DIR
from shared.db import normalise_url
from tests.helpers.databases import postgres_database
from tests.helpers.processes import ROOT, ServiceProcess, free_port, run_cli
from tests.helpers.secrets import METRICS_TOKEN

ADMIN = "dgbv_deployment-admin-token-for-the-scale-test"
SERVICE = "dgbv_deployment-service-token-for-the-scale-test"
SECRET_KEY = "deployment-test-secret-key-0123456789abcdef"
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
DIRS = {"intake": INTAKE_DIR, "kpi": KPI_DIR, "notify": NOTIFY_DIR}
GUNICORN = ["gunicorn", "-c", "python:services.gunicorn_conf"]


def caddy_config(folder: Path, upstreams: dict[str, list[str]]) -> Path:
    """The shipped Caddyfile, its DNS-discovered upstreams replaced by the replicas' addresses."""

    def replace(match: re.Match) -> str:
        return "to " + " ".join(upstreams[match.group(1)])

    config = re.sub(r"dynamic a \{\s*name (\w+)[^}]*\}", replace, CADDYFILE.read_text())
    assert "dynamic" not in config
    path = folder / "Caddyfile"
    path.write_text(config)
    return path


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """What README's development step makes with openssl, for 127.0.0.1."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class Deployment:
    """Start with `start()`, always `stop()`; `urls`, `replicas`, `schedulers`, `proxy` once started."""

    def __init__(self, folder: Path, server_url: str, replicas: int = 2, schedulers: int = 2, **env):
        self.folder = folder
        self.server_url = server_url
        self.replica_count = replicas
        self.scheduler_count = schedulers
        self.extra_env = {key: str(value) for key, value in env.items()}
        self.stack = contextlib.ExitStack()
        self.processes: list[ServiceProcess] = []
        self.replicas: dict[str, list[ServiceProcess]] = {}
        self.schedulers: dict[str, list[ServiceProcess]] = {}
        self.databases: dict[str, str] = {}
        self.engines: dict = {}

    # -- starting -------------------------------------------------------------------------------
    def add_process(self, name: str, args: list[str], env: dict, port: int, command=None) -> ServiceProcess:
        process = ServiceProcess(args, env, port, self.folder / f"{name}.log", command=command)
        self.processes.append(process)
        return process

    def start(self, seed=None, schedulers=("kpi", "notify")) -> Deployment:
        """Start everything (of the schedulers, those named); `seed(self)` runs once the replicas
        answer, before any scheduler starts."""
        for service, directory in DIRS.items():
            self.databases[service] = self.stack.enter_context(postgres_database(self.server_url, directory))
        ports = {s: [free_port() for _ in range(self.replica_count)] for s in DIRS}
        self.smtp_port, https, http = free_port(), free_port(), free_port()
        self.public_url = f"https://127.0.0.1:{https}"
        self.mail = self.folder / "mail"
        cert, key = self_signed_certificate(self.folder)
        self.cert = cert
        self.env = {
            "DGBV_VAR_DIR": str(self.folder),
            "INTAKE_ADMIN_TOKEN": ADMIN,
            "INTAKE_SERVICE_TOKEN": SERVICE,
            "INTAKE_TOKEN": SERVICE,
            "METRICS_TOKEN": METRICS_TOKEN,
            "SECRET_KEY": SECRET_KEY,
            "INTAKE_URL": self.public_url,
            "KPI_URL": self.public_url + "/kpi",
            "PUBLIC_BASE_URL": self.public_url,
            "TRUSTED_PROXIES": "1",
            "REQUESTS_CA_BUNDLE": str(cert),  # the services trust the development certificate
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp_port),
            "SMTP_SECURITY": "none",
            "WEB_WORKERS": "1",  # compose runs 2; one keeps this 2-core machine's load modest
            "WEB_THREADS": "4",
            **self.extra_env,
        }
        for service in DIRS:  # what the image's entry point runs before gunicorn (tokens included)
            run_cli([f"services.{service}", "migrate"], self.service_env(service))
        run_cli(["services.intake", "installed-on"], self.service_env("intake"))  # the plan's history

        catcher = self.add_process(
            "catcher",
            ["services.notify", "catcher", "--port", str(self.smtp_port), "--dir", str(self.mail)],
            {},
            self.smtp_port,
        )
        catcher.start(wait_path=None)

        caddy = shutil.which("caddy")
        if caddy is None:
            pytest.fail("caddy is missing: install Debian's caddy package (.ci/run does)")
        upstreams = {s: [f"127.0.0.1:{port}" for port in ports[s]] for s in DIRS}
        config = caddy_config(self.folder, upstreams)
        proxy_env = {
            "PUBLIC_HOST": "127.0.0.1",
            "HTTPS_PORT": str(https),
            "HTTP_PORT": str(http),
            "BIND_ADDRESS": "127.0.0.1",
            "HEALTH_PORT": str(free_port()),
            "TLS_CERT_FILE": str(cert),
            "TLS_KEY_FILE": str(key),
            "XDG_DATA_HOME": str(self.folder / "caddy-data"),
            "XDG_CONFIG_HOME": str(self.folder / "caddy-config"),
        }
        self.proxy = self.add_process(
            "caddy",
            ["caddy"],
            proxy_env,
            https,
            [caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
        )
        self.proxy.url = f"http://127.0.0.1:{proxy_env['HEALTH_PORT']}"  # its health check, as compose's
        self.proxy.start(wait_path="/healthz")

        for service in DIRS:
            self.replicas[service] = []
            for index, port in enumerate(ports[service]):
                env = {
                    **self.service_env(service),
                    "PROMETHEUS_MULTIPROC_DIR": str(self.folder / f"prometheus-{service}-{index}"),
                }
                replica = self.add_process(
                    f"{service}-{index}", [*GUNICORN, f"services.{service}:create_app()"], env, port
                )
                replica.start(wait_path=None)
                self.replicas[service].append(replica)
            for replica in self.replicas[service]:
                replica.wait_until_up("/healthz", timeout=60)
        if seed is not None:
            seed(self)
        for service in schedulers:
            self.start_schedulers(service)
        return self

    def start_schedulers(self, service: str) -> None:
        self.schedulers[service] = [
            self.add_process(
                f"{service}-scheduler-{n}",
                [f"services.{service}", "scheduler"],
                self.service_env(service),
                free_port(),  # a scheduler serves nothing; PORT must merely be valid
            )
            for n in range(self.scheduler_count)
        ]
        for scheduler in self.schedulers[service]:
            scheduler.start(wait_path=None)

    def requests_seen(self, service: str) -> int:
        """API requests the service's replicas have answered so far (their access logs)."""
        return sum(
            replica.log_path.read_text(errors="replace").count('"path": "/api/v1/')
            for replica in self.replicas[service]
        )

    def service_env(self, service: str) -> dict[str, str]:
        return {**self.env, "DATABASE_URL": self.databases[service].url}

    # -- reading ----------------------------------------------------------------------------------
    def sql(self, service: str, statement: str) -> list:
        if service not in self.engines:  # one small pool per database: the tests poll often
            self.engines[service] = create_engine(normalise_url(self.databases[service].url), pool_size=2)
        with self.engines[service].connect() as connection:
            return list(connection.execute(text(statement)))

    def leader(self, service: str) -> ServiceProcess | None:
        """The scheduler whose log says it leads now (the last word of each log)."""
        found = None
        for scheduler in self.schedulers[service]:
            if scheduler.process.poll() is not None:
                continue
            lines = scheduler.log_path.read_text(errors="replace").splitlines()
            said = [
                line
                for line in lines
                if f"leading {service}-scheduler" in line or "lost the leadership" in line
            ]
            if said and "lost the leadership" not in said[-1]:
                assert found is None, f"two {service} schedulers say they lead"
                found = scheduler
        return found

    def delivered(self) -> list[str]:
        """The notification keys of every message the catcher received, one per message."""
        keys = []
        for path in sorted(self.mail.glob("*.eml")) if self.mail.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            keys.append(str(message["X-DGBV-Notification"]).strip())
        return keys

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.process is not None:
                process.stop()
        for engine in self.engines.values():
            engine.dispose()
        self.stack.close()

    def describe(self) -> str:
        return json.dumps({p.log_path.name: p.log()[-800:] for p in self.processes}, ensure_ascii=False)[
            :20000
        ]
