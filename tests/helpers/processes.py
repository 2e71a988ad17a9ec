"""Real service processes on 127.0.0.1 for tests: started, waited for, and always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.helpers.secrets import find_secrets

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServiceProcess:
    """A `python -m services.<name> ...` process (or any `command`) with its own log file."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        port: int,
        log_path: Path,
        command: list[str] | None = None,
    ):
        self.args = args
        self.command = command or [sys.executable, "-m", *args]
        self.env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port)}
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, wait_path: str | None = "/healthz", timeout: float = 30) -> ServiceProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if wait_path:
            self.wait_until_up(wait_path, timeout)
        return self

    def wait_until_up(self, path: str = "/healthz", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.args} exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + path, timeout=1).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.args} did not answer on {self.url}{path}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def _signal_group(self, sig) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL the process and everything it started (gunicorn workers included)."""
        if self.process and self.process.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        # gunicorn workers could outlive a killed master: make sure the group is gone.
        if self.process:
            self._signal_group(signal.SIGKILL)
            leaks = find_secrets(self.log_path.read_text(errors="replace"))
            assert not leaks, f"{self.args} logged secrets: {[leak[:12] for leak in leaks]}"


def run_command(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a service command to completion, whatever its exit code."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_cli(args: list[str], env: dict[str, str]) -> str:
    """Run a service command to completion and return its standard output."""
    result = run_command(args, env)
    if result.returncode != 0:
        raise RuntimeError(f"{args} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout
