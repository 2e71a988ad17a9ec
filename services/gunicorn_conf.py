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

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
graceful_timeout = 10
control_socket_disable = True  # several services share a machine


def on_starting(server):
    """Start from empty counters: files left by an earlier run would be added in."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
