"""gunicorn settings for every service: `gunicorn -c python:services.gunicorn_conf "services.<name>:create_app()"`.

Several workers each count requests; Prometheus' multiprocess mode adds their counts
up, so every worker's /metrics answers alike.
"""

import os
import shutil
import tempfile

# Must be set before prometheus_client is imported anywhere, or workers count alone.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="dgbv-prometheus-"))

from prometheus_client import multiprocess  # noqa: E402

from shared.server import worker_options  # noqa: E402
from shared.settings import WEB_LIMITS, Setting, load, text, whole  # noqa: E402

_settings = load(
    (
        Setting("HOST", text, "127.0.0.1"),
        Setting("PORT", whole(1, 65535), 8000),
        Setting("WEB_WORKERS", whole(1), 2),  # production: at least two, so one slow request blocks nobody
        Setting("WEB_THREADS", whole(1), 4),
        *WEB_LIMITS,
    )
)
bind = f"{_settings['HOST']}:{_settings['PORT']}"
workers = _settings["WEB_WORKERS"]
threads = _settings["WEB_THREADS"]
graceful_timeout = 10
control_socket_disable = True  # several services share a machine
# A request running longer than WEB_TIMEOUT_SECONDS ends its worker, which is replaced; a worker's
# memory is capped at WEB_MEMORY_LIMIT_MB (shared/server.py).
_bounds = worker_options(_settings)
worker_class = _bounds["worker_class"]
timeout = _bounds["timeout"]
post_fork = _bounds["post_fork"]


def on_starting(server):
    """Start from empty counters: files left by an earlier run would be added in."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
