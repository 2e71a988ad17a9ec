"""`python -m services` (make run): the whole product on its embedded defaults, on 127.0.0.1.

Each service runs as its own process, as in production; this runner only starts
them with matching settings and stops them together.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

from shared.settings import var_dir

VAR = var_dir(os.environ).resolve()
HOST = "127.0.0.1"
# (module, port); later services follow intake, which they depend on.
SERVICES = [("intake", 8001), ("kpi", 8002), ("notify", 8003)]
MAIL_CATCHER_PORT = 8025  # notify sends here; every message is kept under var/mail/


def _python(*args: str, env: dict | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args], env=env, check=True, capture_output=True, text=True
    )
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


def _secret_key() -> str:
    """The key that signs intake's session cookies, generated once and kept under var/ (0600)."""
    path = VAR / "secret-key"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _load_demo_data(env: dict) -> None:
    """Fill an empty intake database with demo data, unless DGBV_DEMO=0 (README: "Demo data")."""
    if env.get("DGBV_DEMO", "1").strip().lower() in ("0", "false", "no", "off"):
        return
    subprocess.run([sys.executable, "-m", "services.intake", "demo-data", "--if-empty"], env=env, check=True)


def _notify_settings(env: dict) -> dict:
    """notify reads kpi and sends to the local mail catcher (README: "Notify")."""
    return {
        "KPI_URL": f"http://{HOST}:8002",
        "SMTP_HOST": HOST,
        "SMTP_PORT": str(MAIL_CATCHER_PORT),
        "SMTP_SECURITY": "none",  # the catcher is on this machine
        "SEND_INTERVAL_SECONDS": env.get("SEND_INTERVAL_SECONDS", "5"),
        "REPORT_FORM_BASE_URL": env.get("REPORT_FORM_BASE_URL", f"http://{HOST}:8001"),
        "COMMITTEE_EMAILS": env.get("COMMITTEE_EMAILS", "committee@localhost"),
        "EVALUATE_ON_START": env.get("EVALUATE_ON_START", "true"),  # mail in var/mail/ at once
    }


def main() -> int:
    VAR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DGBV_VAR_DIR": str(VAR), "HOST": HOST}
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = _secret_key()
    env.setdefault("SESSION_COOKIE_SECURE", "false")  # the pages are served over plain http here
    _python("services.intake", "migrate", env=env)
    _load_demo_data(env)
    env["INTAKE_URL"] = f"http://{HOST}:8001"
    env["INTAKE_TOKEN"] = _service_token(env)
    env.update(_notify_settings(env))
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "services.notify", "catcher", "--port", str(MAIL_CATCHER_PORT)], env=env
        )
    ]
    print(f"mail catcher: smtp://{HOST}:{MAIL_CATCHER_PORT} -> {VAR / 'mail'}", flush=True)
    for name, port in SERVICES:
        processes.append(
            subprocess.Popen([sys.executable, "-m", f"services.{name}"], env={**env, "PORT": str(port)})
        )
        print(f"{name}: http://{HOST}:{port}  (docs: http://{HOST}:{port}/docs)", flush=True)
    print(
        "Admin token: .venv/bin/python -m services.intake mint-token --role admin --name me\n"
        f"Web pages: http://{HOST}:8001/sign-in (a user: .venv/bin/python -m services.intake create-user --help)\n"
        "Press Ctrl+C to stop.",
        flush=True,
    )

    def stop(*_):
        for process in processes:
            if process.poll() is None:
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    for process in processes:
        process.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
