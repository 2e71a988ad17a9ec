"""Alertmanager as shipped (deploy/alertmanager, started by its own start.sh) and a mail server,
both real and on 127.0.0.1, for the alerting tests."""

from __future__ import annotations

import email
import email.policy
import shutil
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.helpers.processes import ServiceProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
ALERTMANAGER = ROOT / "deploy" / "alertmanager"
# Each audience's address, as .env would give them.
ADDRESSES = {
    "committee": "committee@dgbv.test",
    "coordinators": "coordinators@dgbv.test",
    "operations": "operations@dgbv.test",
}


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install Debian's prometheus-alertmanager package (.ci/run does)")
    return path


def start_sh_environment(smtp_port: int, rendered: Path) -> dict[str, str]:
    """What docker-compose.yml gives start.sh, with this machine's mail server and paths."""
    return {
        "ALERTMANAGER_BIN": binary("prometheus-alertmanager"),
        "ALERTMANAGER_CONFIG_OUT": str(rendered),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "SMTP_USERNAME": "",
        "SMTP_PASSWORD": "",
        "SMTP_FROM": "dgbv-alerts@dgbv.test",
        "COMMITTEE_EMAILS": ADDRESSES["committee"],
        "COORDINATOR_EMAILS": ADDRESSES["coordinators"],
        "OPERATIONS_EMAILS": ADDRESSES["operations"],
    }


def start_alertmanager(folder: Path, smtp_port: int) -> ServiceProcess:
    """The shipped alertmanager.yml through the shipped start.sh: only its ports, its storage and
    its mail server differ from the compose deployment."""
    port = free_port()
    command = [
        "sh",
        str(ALERTMANAGER / "start.sh"),
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url=http://127.0.0.1:{port}",
        f"--storage.path={folder / 'alertmanager-data'}",
        "--cluster.listen-address=",
    ]
    env = start_sh_environment(smtp_port, folder / "alertmanager.yml")
    process = ServiceProcess(["alertmanager"], env, port, folder / "alertmanager.log", command=command)
    return process.start(wait_path="/-/ready", timeout=30)


class MailCatcher:
    """An SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message with its recipients."""

    def __init__(self):
        self.port = free_port()
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def __enter__(self) -> MailCatcher:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [message for recipients, message in self.messages if address in recipients]

    def wait_for(self, address: str, timeout: float) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := self.to(address):
                return found
            time.sleep(0.5)
        raise AssertionError(f"no e-mail to {address} within {timeout} s; received: {self.summary()}")

    def summary(self) -> list[tuple[list[str], str]]:
        with self._lock:
            return [(recipients, str(message["Subject"])) for recipients, message in self.messages]


def text_of(message: EmailMessage) -> str:
    """The plain-text part, decoded."""
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
