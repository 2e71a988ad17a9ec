"""docker-compose.yml, checked by reading it (no Docker engine runs on these machines)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers.prometheus import TOKEN_FILE

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")
SECRET_NAMES = re.compile(r"PASSWORD|TOKEN|SECRET")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def documented() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_][A-Z0-9_]*=", line)}


def environment(service: dict) -> dict:
    env = service.get("environment") or {}
    return env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_every_service_has_an_image_or_build_and_a_healthcheck(compose):
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, name
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image}"


def test_every_variable_is_documented_in_env_example(compose, documented):
    used = set(VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))
    assert used <= documented, f"undocumented: {sorted(used - documented)}"


def test_no_secret_is_written_in_the_file(compose):
    for name, service in compose["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAMES.search(key):
                assert str(value).startswith("${") or "${" in str(value), (
                    f"{name}.{key} holds a literal secret"
                )


def test_services_wait_for_what_they_need(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert condition["condition"] == "service_healthy"
    assert "postgres" in services["intake"]["depends_on"]
    assert "intake" in services["kpi"]["depends_on"]


def test_prometheus_finds_every_replica_of_the_compose_services_on_their_ports(compose):
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    found = {}
    for job in config["scrape_configs"]:
        assert "static_configs" not in job, f"{job['job_name']}: a static target is one random replica"
        (discovery,) = job["dns_sd_configs"]
        assert discovery["type"] == "A"
        found[job["job_name"]] = (discovery["names"], discovery["port"])
    assert found == {"intake": (["intake"], 8001), "kpi": (["kpi"], 8002), "notify": (["notify"], 8003)}
    for name, (_, port) in found.items():
        assert environment(compose["services"][name])["PORT"] == str(port)
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in mounts


def test_prometheus_scrapes_with_the_token_the_services_are_given_and_no_secret_is_in_its_config(compose):
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        # A file, not `credentials`: the token itself is never written into the configuration.
        assert job["authorization"] == {"type": "Bearer", "credentials_file": TOKEN_FILE}, job["job_name"]
        name = job["job_name"]
        assert environment(compose["services"][name])["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")
    # Compose hands the same variable to Prometheus as the secret file /run/secrets/metrics_token.
    assert compose["secrets"]["metrics_token"] == {"environment": "METRICS_TOKEN"}
    assert compose["services"]["prometheus"]["secrets"] == [TOKEN_FILE.rsplit("/", 1)[1]]
    assert TOKEN_FILE == "/run/secrets/metrics_token"


def test_grafana_is_provisioned_from_files_with_the_admin_password_from_the_environment(compose):
    grafana = compose["services"]["grafana"]
    assert environment(grafana)["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD")
    volumes = grafana["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in volumes
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/dgbv.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert list((ROOT / "deploy/grafana/dashboards").glob("*.json"))


def test_grafana_speaks_traditional_chinese_through_its_real_setting(compose):
    settings = environment(compose["services"]["grafana"])
    # [users] default_language; there is no GF_DEFAULT_LOCALE, which Grafana would ignore.
    assert settings["GF_USERS_DEFAULT_LANGUAGE"] == "zh-Hant"
    assert "GF_DEFAULT_LOCALE" not in settings


def test_prometheus_sends_its_alerts_to_the_alertmanager_service(compose):
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [alertmanagers] = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    assert "127.0.0.1:9093:9093" in compose["services"]["alertmanager"]["ports"]
    assert "alertmanager" in compose["services"]["prometheus"]["depends_on"]


def test_the_alerts_links_come_from_the_environment_prometheus_is_given(compose):
    prometheus = compose["services"]["prometheus"]
    # Without this flag Prometheus would keep "${PUBLIC_BASE_URL}" literally in every link.
    assert "--enable-feature=expand-external-labels" in prometheus["command"]
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    named = set(VARIABLE.findall(" ".join(config["global"]["external_labels"].values())))
    assert named == {"PUBLIC_BASE_URL", "GRAFANA_URL"}
    assert named <= set(environment(prometheus))
    # The alerts link to the same public address as notify's e-mails.
    notify = environment(compose["services"]["notify"])
    assert environment(prometheus)["PUBLIC_BASE_URL"] == notify["PUBLIC_BASE_URL"]


def test_alertmanager_runs_the_shipped_configuration_with_notify_s_mail_server(compose):
    alertmanager = compose["services"]["alertmanager"]
    assert "./deploy/alertmanager:/etc/alertmanager:ro" in alertmanager["volumes"]
    # Alertmanager reads no environment: the shipped start.sh fills the configuration in.
    assert alertmanager["entrypoint"] == ["/bin/sh", "/etc/alertmanager/start.sh"]
    env = environment(alertmanager)
    notify = environment(compose["services"]["notify"])
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_SECURITY", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_FROM"):
        assert env[name] == notify[name], name
    # Every ${…} of alertmanager.yml that start.sh fills from the environment is given here.
    shipped = (ROOT / "deploy/alertmanager/alertmanager.yml").read_text()
    assert set(VARIABLE.findall(shipped)) - {"TEMPLATES"} <= set(env)
    assert alertmanager["depends_on"] == {"mailpit": {"condition": "service_healthy"}}


def megabytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([mg])", size.lower()).groups()
    return int(number) * (1024 if unit == "g" else 1)


def default(value: str) -> str:
    """The value compose uses when the variable is unset: ${NAME:-value} -> value."""
    found = re.fullmatch(r"\$\{[A-Z_0-9]+:-([^}]*)\}", str(value))
    return found.group(1) if found else str(value)


def test_every_container_of_the_services_has_a_memory_limit_that_holds_its_workers(compose):
    """Each web container holds WEB_WORKERS workers at their WEB_MEMORY_LIMIT_MB ceiling and gunicorn's
    master (issue 14: one workbook grew a worker to 1 GB); a scheduler has a limit of its own."""
    from shared.settings import WEB_LIMITS

    defaults = {setting.key: setting.default for setting in WEB_LIMITS}
    for name, service in compose["services"].items():
        if service.get("build") is None:
            continue
        env = environment(service)
        limit = megabytes(default(service["deploy"]["resources"]["limits"]["memory"]))
        if service["command"][1] == "web":
            ceiling = int(default(env["WEB_MEMORY_LIMIT_MB"]))
            assert ceiling == defaults["WEB_MEMORY_LIMIT_MB"]
            assert int(default(env["WEB_TIMEOUT_SECONDS"])) == defaults["WEB_TIMEOUT_SECONDS"]
            assert limit >= int(default(env["WEB_WORKERS"])) * ceiling + 256, name
        else:
            assert limit >= 256, name


def test_the_file_validates_against_the_compose_specification():
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_services_publish_no_port_so_they_scale_and_people_reach_them_through_the_proxy(compose):
    services = compose["services"]
    for name in ("intake", "kpi", "notify", "kpi-scheduler", "notify-scheduler"):
        assert "ports" not in services[name], f"{name} has a fixed host port: --scale would fail"
    proxy = services["proxy"]
    assert sorted(proxy["ports"]) == ["443:443", "80:80"]
    assert "./deploy/caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert "./deploy/certs:/etc/caddy/certs:ro" in proxy["volumes"]
    assert environment(services["intake"])["TRUSTED_PROXIES"] == "1"
    # Every e-mail link starts with the public address, which a deployment must give.
    assert environment(services["notify"])["PUBLIC_BASE_URL"].startswith("${PUBLIC_BASE_URL:?")


def test_every_container_has_a_memory_limit(compose):
    for name, service in compose["services"].items():
        assert service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"), name


def test_the_schedulers_run_with_a_standby(compose):
    for name in ("kpi-scheduler", "notify-scheduler"):
        assert compose["services"][name]["deploy"]["replicas"] >= 2, name


def test_the_image_is_pinned_by_digest_holds_no_development_package_and_no_secret():
    dockerfile = (ROOT / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert re.fullmatch(r"[^@\s]+:[^@\s]+@sha256:[0-9a-f]{64}", base), base
    locked = (ROOT / "requirements.lock").read_text().lower()
    assert "aiosmtpd" not in locked  # the development mail catcher
    # The code is copied once, not installed a second time as a package.
    assert "pip install --no-deps ." not in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and "deploy/certs" in ignored
