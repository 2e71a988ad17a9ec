"""`python -m services` (make run): its ports come from the environment, a taken port stops it at
once with one line, and when one of its processes dies it stops the others and says which."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import time
from pathlib import Path

import pytest
import requests

from tests.helpers.processes import ServiceProcess, free_port
from tests.test_dev_schedulers import alive, children_of

VARIABLES = {"intake": "INTAKE_PORT", "kpi": "KPI_PORT", "notify": "NOTIFY_PORT", "mail catcher": "MAIL_PORT"}


def free_ports() -> dict[str, int]:
    """A free port for each process, no two alike."""
    ports: dict[str, int] = {}
    while len(ports) < len(VARIABLES):
        port = free_port()
        if port not in ports.values():
            ports[list(VARIABLES)[len(ports)]] = port
    return ports


def runner(tmp_path: Path, ports: dict[str, int]) -> ServiceProcess:
    env = {
        "DGBV_VAR_DIR": str(tmp_path / "var"),
        "DGBV_DEMO": "0",
        "DATABASE_URL": "",  # each service on its own database under DGBV_VAR_DIR
        "EVALUATE_ON_START": "false",
        **{VARIABLES[name]: str(port) for name, port in ports.items()},
    }
    return ServiceProcess(["services"], env, ports["intake"], tmp_path / "runner.log")


def group(pgid: int) -> list[int]:
    """The live processes of a process group (the runner's own: it is started in a new session)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def wait_until(condition, timeout: float, what: str, server: ServiceProcess) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}:\n{server.log()}"
        time.sleep(0.2)


def whole_log(server: ServiceProcess) -> str:
    """Everything the runner wrote (server.log() is its tail, which the services' requests fill)."""
    return server.log_path.read_text(errors="replace")


def children(server: ServiceProcess) -> dict[str, int]:
    """The runner's children by the name of the process each one is."""
    named = {}
    for pid in children_of(server.process.pid):
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        name = args[2].removeprefix("services.")
        named["mail catcher" if args[3:4] == ["catcher"] else name] = pid
    return named


def environment(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def started(tmp_path: Path) -> tuple[ServiceProcess, dict[str, int]]:
    """The runner on free ports from the environment, once it says everything is up."""
    ports = free_ports()
    server = runner(tmp_path, ports).start(wait_path=None)
    wait_until(lambda: "Press Ctrl+C to stop." in server.log(), 120, "the runner did not start", server)
    return server, ports


def test_a_taken_port_stops_the_runner_at_once_with_one_line(tmp_path):
    ports = free_ports()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", ports["kpi"]))
        taken.listen()
        server = runner(tmp_path, ports)
        began = time.monotonic()
        server.start(wait_path=None)
        try:
            assert server.process.wait(timeout=30) == 1
            assert time.monotonic() - began < 15
            assert server.log().strip() == (
                f"make run: port {ports['kpi']} (kpi) is already in use; set KPI_PORT to another port"
            )
            assert group(server.process.pid) == []
            assert not (tmp_path / "var").exists()  # refused before anything was made or started
        finally:
            server.stop()


def test_the_runner_serves_on_the_ports_given_and_stops_everything_when_one_dies(tmp_path):
    server, ports = started(tmp_path)
    try:
        for name in ("intake", "kpi", "notify"):
            assert requests.get(f"http://127.0.0.1:{ports[name]}/healthz", timeout=5).status_code == 200, name
        with smtplib.SMTP("127.0.0.1", ports["mail catcher"], timeout=5) as smtp:
            assert smtp.noop()[0] == 250
        processes = children(server)
        assert set(processes) == set(VARIABLES)
        intake_url, kpi_url = f"http://127.0.0.1:{ports['intake']}", f"http://127.0.0.1:{ports['kpi']}"
        for name in ("kpi", "notify"):
            settings = environment(processes[name])
            assert (settings["PORT"], settings["INTAKE_URL"], settings["KPI_URL"]) == (
                str(ports[name]),
                intake_url,
                kpi_url,
            )
        notify = environment(processes["notify"])
        assert (notify["SMTP_PORT"], notify["PUBLIC_BASE_URL"]) == (
            str(ports["mail catcher"]),
            intake_url,
        )
        assert f"{intake_url}/sign-in" in whole_log(server)

        # A committee member can sign in at once and open the quarterly report: a viewer made once,
        # its password kept under var/ for the owner only.
        password_file = tmp_path / "var" / "committee-password"
        assert password_file.stat().st_mode & 0o777 == 0o600
        assert (
            f"{intake_url}/quarterly-report  Committee sign-in: user committee, password in {password_file}"
            in (whole_log(server))
        )
        committee = requests.Session()
        form = committee.get(intake_url + "/sign-in", timeout=10).text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        credentials = {"username": "committee", "password": password_file.read_text().strip()}
        committee.post(intake_url + "/sign-in", data={"csrf_token": csrf, **credentials}, timeout=30)
        report = committee.get(intake_url + "/quarterly-report", timeout=30)
        assert report.status_code == 200 and "管考季報" in report.text, report.text[:1000]
        assert password_file.read_text().strip() not in whole_log(server)

        # A scrape token is made once, kept under var/ for the owner only, and given to every service:
        # kpi's figures (and the others' counters) are never served without it.
        token_file = tmp_path / "var" / "metrics-token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 32 and token not in whole_log(server)
        assert f'curl -H "Authorization: Bearer $(cat {token_file})" {kpi_url}/metrics' in whole_log(server)
        for url in (intake_url, kpi_url, f"http://127.0.0.1:{ports['notify']}"):
            assert requests.get(url + "/metrics", timeout=5).status_code == 401, url
            scraped = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=5)
            assert scraped.status_code == 200, url

        os.kill(processes["kpi"], signal.SIGKILL)
        assert server.process.wait(timeout=30) == 1
        assert "make run: kpi exited with code -9 (SIGKILL); stopping the other services" in server.log()
        assert "Traceback" not in whole_log(server)
        wait_until(lambda: not group(server.process.pid), 20, "processes were left behind", server)
        assert not any(alive(pid) for pid in processes.values())
    finally:
        server.stop()


@pytest.mark.parametrize("how", ["ctrl+c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_everything_and_exits_0(tmp_path, how):
    server, _ = started(tmp_path)
    try:
        processes = children(server)
        if how == "ctrl+c":  # the terminal signals the whole foreground process group
            os.killpg(server.process.pid, signal.SIGINT)
        else:
            server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        assert "make run:" not in server.log()
        wait_until(lambda: not group(server.process.pid), 20, "processes were left behind", server)
        assert not any(alive(pid) for pid in processes.values())
    finally:
        server.stop()
