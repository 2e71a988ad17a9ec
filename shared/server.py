"""Serve a Flask app with gunicorn from Python (development entry points)."""

from __future__ import annotations

import os
import subprocess
import sys

import click
from gunicorn.app.base import BaseApplication


class _Embedded(BaseApplication):
    def __init__(self, app, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def serve(app, host: str, port: int, workers: int = 1) -> None:
    """Run gunicorn in this process until it is stopped."""
    _Embedded(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": 4,
            "accesslog": None,
            "graceful_timeout": 5,
            # Several services share one machine: a shared control socket path would collide.
            "control_socket_disable": True,
        },
    ).run()


# A scheduler started by `serve_service(..., scheduler=True)` finds its parent here, and stops
# when the parent is gone even if the parent could not say so (SIGKILL).
SCHEDULER_PARENT_PID_VAR = "DGBV_SCHEDULER_PARENT_PID"


def serve_service(app, name: str, scheduler: bool = False) -> None:
    """The development entry point: gunicorn in this process on the app's HOST and PORT, and
    optionally the service's scheduler (`python -m services.<name> scheduler`) as a child that
    stops with it."""
    host, port = app.config["HOST"], app.config["PORT"]
    click.echo(f"{name}: listening on http://{host}:{port}  (API docs: http://{host}:{port}/docs)", err=True)
    app.extensions["database"].dispose()  # workers must not inherit pooled connections
    child = None
    if scheduler:
        child = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}", "scheduler"],
            env={**os.environ, SCHEDULER_PARENT_PID_VAR: str(os.getpid())},
        )
    try:
        serve(app, host, port, workers=app.config["WEB_WORKERS"])
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


def parent_is_gone() -> bool:
    """For a scheduler started by serve_service: whether the web server that started it has died."""
    parent = os.environ.get(SCHEDULER_PARENT_PID_VAR)
    return bool(parent) and os.getppid() != int(parent)
