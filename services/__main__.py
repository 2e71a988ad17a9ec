"""`python -m services` (make run): the whole product on its embedded defaults, on 127.0.0.1.

Each service runs as its own process, as in production; this runner only starts
them with matching settings and stops them together. It refuses to start on a port
that is taken, and when one of them dies it stops the others and says which died.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import NoReturn

from shared.settings import var_dir

VAR = var_dir(os.environ).resolve()
HOST = "127.0.0.1"
SERVICES = ("intake", "kpi", "notify")  # in the order they start: kpi and notify read intake
# The variable that sets each process's port, and its default.
PORTS = {
    "intake": ("INTAKE_PORT", 8001),
    "kpi": ("KPI_PORT", 8002),
    "notify": ("NOTIFY_PORT", 8003),
    "mail catcher": ("MAIL_PORT", 8025),  # notify sends here; every message is kept under var/mail/
}
LISTEN_SECONDS = 60  # how long a service may take to migrate its database and listen


class Refusal(Exception):
    """Why the product cannot start or keep running, in one line."""


def _ports(environ) -> dict[str, int]:
    """The port of each process, from the environment; each a port of its own."""
    ports = {}
    for name, (variable, default) in PORTS.items():
        text = environ.get(variable, "").strip() or str(default)
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
            raise Refusal(f"{variable}={text!r} is not a port number (1-65535)")
        for other, port in ports.items():
            if port == int(text):
                raise Refusal(f"{PORTS[other][0]} and {variable} are both {port}; give each its own port")
        ports[name] = int(text)
    return ports


def _check_free(ports: dict[str, int]) -> None:
    """Refuse a port that cannot be bound, before anything starts (the services bind as this does)."""
    for name, port in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
            except OSError as error:
                why = (
                    "is already in use"
                    if error.errno == errno.EADDRINUSE
                    else f"cannot be used ({error.strerror})"
                )
                raise Refusal(f"port {port} ({name}) {why}; set {PORTS[name][0]} to another port") from None


def _python(*args: str, env: dict | None = None) -> str:
    result = subprocess.run([sys.executable, "-m", *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise Refusal(f"{' '.join(args[:2])} failed with exit code {result.returncode}")
    return result.stdout.strip()


def _service_token(env: dict) -> str:
    """The token kpi and notify use towards intake, minted once and kept under var/."""
    path = VAR / "dev-service-token"
    if not path.exists():
        token = _python(
            "services.intake", "mint-token", "--role", "service", "--name", "dev services", env=env
        )
        path.write_text(token)
        path.chmod(0o600)
    return path.read_text().strip()


def _kept_secret(name: str, make: Callable[[], str]) -> str:
    """A secret generated once and kept under var/ (0600): intake's session key (`secret-key`), the
    scrape token of /metrics (`metrics-token`)."""
    path = VAR / name
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(make())
    return path.read_text().strip()


def _secret_key() -> str:
    """The key that signs intake's session cookies."""
    return _kept_secret("secret-key", lambda: secrets.token_urlsafe(48))


def _metrics_token() -> str:
    """The token /metrics is scraped with (a token as intake mints them, so log scans know it)."""
    return _kept_secret("metrics-token", lambda: "dgbv_" + secrets.token_urlsafe(32))


def _load_demo_data(env: dict) -> None:
    """Fill an empty intake database with demo data, unless DGBV_DEMO=0 (README: "Demo data")."""
    if env.get("DGBV_DEMO", "1").strip().lower() in ("0", "false", "no", "off"):
        return
    loaded = subprocess.run([sys.executable, "-m", "services.intake", "demo-data", "--if-empty"], env=env)
    if loaded.returncode != 0:
        raise Refusal(f"services.intake demo-data failed with exit code {loaded.returncode}")


COMMITTEE_USER = (
    "committee"  # the committee member's sign-in that make run creates (README, "The quarterly report")
)


def _committee_user(env: dict) -> str:
    """A viewer `committee` with a password generated once into var/committee-password (0600), so a
    committee member can sign in and read the quarterly report at once; a line saying how."""
    path = VAR / "committee-password"
    if not path.exists():
        password = secrets.token_urlsafe(12)
        created = subprocess.run(
            [sys.executable, "-m", "services.intake", "create-user", "--username", COMMITTEE_USER,
             "--role", "viewer", "--name", "委員會委員", "--password", password],
            env=env,
            capture_output=True,
            text=True,
        )  # fmt: skip
        if created.returncode != 0:  # e.g. someone made a user of that name before: theirs stays
            return f"Committee sign-in: not created ({created.stderr.strip().splitlines()[-1:]})"
        _kept_secret("committee-password", lambda: password)
    return f"Committee sign-in: user {COMMITTEE_USER}, password in {path}"


def _notify_settings(env: dict, ports: dict[str, int]) -> dict:
    """notify reads kpi and sends to the local mail catcher (README: "Notify")."""
    return {
        "SMTP_HOST": HOST,
        "SMTP_PORT": str(ports["mail catcher"]),
        "SMTP_SECURITY": "none",  # the catcher is on this machine
        "SEND_INTERVAL_SECONDS": env.get("SEND_INTERVAL_SECONDS", "5"),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", env["INTAKE_URL"]),
        "COMMITTEE_EMAILS": env.get("COMMITTEE_EMAILS", "committee@localhost"),
        "COORDINATOR_EMAILS": env.get("COORDINATOR_EMAILS", "coordinators@localhost"),
        "EVALUATE_ON_START": env.get("EVALUATE_ON_START", "true"),  # mail in var/mail/ at once
    }


def _exit_text(code: int) -> str:
    """An exit code as people read it: 1, or -9 (SIGKILL) for a process a signal ended."""
    return f"{code} ({signal.Signals(-code).name})" if code < 0 else str(code)


def _wait_until_listening(started: list, ports: dict[str, int]) -> None:
    """Wait until every process accepts connections on its port; refuse one that exits or never does."""
    deadline = time.monotonic() + LISTEN_SECONDS
    for name, process in started:
        while True:
            if process.poll() is not None:
                raise Refusal(f"{name} exited with code {_exit_text(process.returncode)} while starting")
            try:
                socket.create_connection((HOST, ports[name]), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise Refusal(
                        f"{name} did not listen on port {ports[name]} within {LISTEN_SECONDS} s"
                    ) from None
                time.sleep(0.2)


def _run(started: list) -> NoReturn:
    """Start everything, then watch until a process dies (Refusal) or the runner is stopped."""
    ports = _ports(os.environ)
    _check_free(ports)
    VAR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DGBV_VAR_DIR": str(VAR), "HOST": HOST}
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = _secret_key()
    # kpi serves no metrics without a scrape token; every service gets this one (README, "Scraping").
    scrape_token = "$METRICS_TOKEN"
    if not env.get("METRICS_TOKEN"):
        env["METRICS_TOKEN"] = _metrics_token()
        scrape_token = f"$(cat {VAR / 'metrics-token'})"
    env.setdefault("SESSION_COOKIE_SECURE", "false")  # the pages are served over plain http here
    _python("services.intake", "migrate", env=env)
    _load_demo_data(env)
    committee = _committee_user(env)
    env["INTAKE_URL"] = f"http://{HOST}:{ports['intake']}"
    env["KPI_URL"] = f"http://{HOST}:{ports['kpi']}"
    env["INTAKE_TOKEN"] = _service_token(env)
    env.update(_notify_settings(env, ports))
    catcher = ["services.notify", "catcher", "--port", str(ports["mail catcher"])]
    started.append(("mail catcher", subprocess.Popen([sys.executable, "-m", *catcher], env=env)))
    for name in SERVICES:
        process = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], env={**env, "PORT": str(ports[name])}
        )
        started.append((name, process))
    _wait_until_listening(started, ports)
    print(f"mail catcher: smtp://{HOST}:{ports['mail catcher']} -> {VAR / 'mail'}", flush=True)
    for name in SERVICES:
        print(f"{name}: http://{HOST}:{ports[name]}  (docs: http://{HOST}:{ports[name]}/docs)", flush=True)
    print(
        "Admin token: .venv/bin/python -m services.intake mint-token --role admin --name me\n"
        f"Web pages: {env['INTAKE_URL']}/sign-in (a user: .venv/bin/python -m services.intake create-user --help)\n"
        f"Quarterly report (管考季報): {env['INTAKE_URL']}/quarterly-report  {committee}\n"
        f'Metrics: curl -H "Authorization: Bearer {scrape_token}" {env["KPI_URL"]}/metrics\n'
        "Press Ctrl+C to stop.",
        flush=True,
    )
    while True:
        for name, process in started:
            if process.poll() is not None:
                raise Refusal(
                    f"{name} exited with code {_exit_text(process.returncode)}; stopping the other services"
                )
        time.sleep(0.5)


def _stop(started: list) -> None:
    """Stop every process started: politely, then for good after a while."""
    # A second Ctrl+C must not cut the stopping short and leave a process behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for _, process in started:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 15
    for _, process in started:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    """0 when stopped by Ctrl+C or SIGTERM; 1, after one line saying why, when it cannot go on."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it as Ctrl+C does
    started: list[tuple[str, subprocess.Popen]] = []
    try:
        _run(started)
    except KeyboardInterrupt:
        return 0
    except Refusal as error:
        print(f"make run: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        _stop(started)


if __name__ == "__main__":
    sys.exit(main())
