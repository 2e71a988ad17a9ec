"""Serve a Flask app with gunicorn: the bounds of every web worker, and the development entry points."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time

import click
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

# gunicorn's worker_class for every service: the threaded worker under a request time limit.
WORKER_CLASS = "shared.server.TimeLimitedWorker"


class TimeLimitedWorker(ThreadWorker):
    """gunicorn's threaded worker, whose heartbeat is the start of its oldest running request.

    The arbiter ends a worker whose heartbeat is older than `timeout`, and starts another; the stock
    threaded worker beats on while a request runs forever (issue 14: an Excel bomb held a worker
    86 s). Here a request running longer than `timeout` ends its worker like a sync worker's would.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.running: dict[int, float] = {}  # request: monotonic start
        self.running_lock = threading.Lock()

    def _timed(self, handle, *args):
        key = id(args[0])
        with self.running_lock:
            self.running[key] = time.monotonic()
        try:
            return handle(*args)
        finally:
            with self.running_lock:
                self.running.pop(key, None)

    def handle_request(self, req, conn):
        return self._timed(super().handle_request, req, conn)

    def handle_http2_request(self, req, conn, h2_conn):
        return self._timed(super().handle_http2_request, req, conn, h2_conn)

    def notify(self):
        with self.running_lock:
            oldest = min(self.running.values(), default=None)
        if oldest is None:
            super().notify()
        else:  # the arbiter compares this with its monotonic clock, as WorkerTmp.notify writes it
            os.utime(self.tmp.fileno(), (oldest, oldest))


def limit_memory(megabytes: int) -> None:
    """The memory ceiling of this process: allocations beyond it fail (MemoryError), nothing else.

    RLIMIT_DATA counts the process's writable private memory (heap, anonymous mappings, thread
    stacks); RLIMIT_AS would also count the address space glibc only reserves for each thread's
    malloc arena, 64 MB apiece."""
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def worker_options(config) -> dict:
    """gunicorn settings that bound each worker (WEB_TIMEOUT_SECONDS, WEB_MEMORY_LIMIT_MB)."""
    megabytes = config["WEB_MEMORY_LIMIT_MB"]

    def post_fork(server, worker):
        limit_memory(megabytes)

    return {"worker_class": WORKER_CLASS, "timeout": config["WEB_TIMEOUT_SECONDS"], "post_fork": post_fork}


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
            **worker_options(app.config),
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
