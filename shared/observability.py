"""Request ids, JSON logs, HTTP metrics, health probes and security headers."""

from __future__ import annotations

import hmac
import logging
import os
import re
import sys
import time
import uuid

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import text

from shared.auth import bearer_token
from shared.db import get_database
from shared.errors import problem_response

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Labels come from these alone, so no request adds a series: other methods count as "other", paths
# that match no route as "unmatched".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# The name a person reads for each service, the `service` label of the HTTP metrics and the `job`
# Prometheus scrapes it as: the operations dashboard names its series with these (generate.py), and
# the alerts say the same (deploy/prometheus/rules/dgbv.yml, checked by tests/deploy).
SERVICE_NAMES = {"intake": "填報系統", "kpi": "指標服務", "notify": "通知服務"}

HTTP_REQUESTS = Counter(
    "dgbv_http_requests_total",
    "HTTP requests answered, by service, endpoint, method and status.",
    ["service", "endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "dgbv_http_request_duration_seconds",
    "Time to answer an HTTP request, by service and endpoint.",
    ["service", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

access_log = logging.getLogger("dgbv.access")


class _RequestIdFilter(logging.Filter):
    """Stamp every log record made while serving a request with its id."""

    def filter(self, record):
        try:
            record.request_id = g.get("request_id")
        except RuntimeError:  # outside a request
            record.request_id = None
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Log JSON lines to stderr through one handler per process; a later call (the scheduler after
    its app) renames the process in every line."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "dgbv", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.dgbv = True
        handler.addFilter(_RequestIdFilter())
        root.addHandler(handler)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    root.setLevel(level)


class _ProcessMetrics:
    """Expose the process's own metrics beside an app's collectors."""

    def describe(self):
        return []  # registering must not collect the whole default registry once more

    def collect(self):
        yield from REGISTRY.collect()


def _metrics_registry(app: Flask) -> CollectorRegistry:
    """The app's registry, built once per process at the first scrape (after every add_collector)."""
    registry = app.extensions.get("metrics_registry")
    if registry is None:
        registry = CollectorRegistry(auto_describe=True)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Under gunicorn's workers, counters live in shared files.
            multiprocess.MultiProcessCollector(registry)
        else:
            registry.register(_ProcessMetrics())
        for collector in app.extensions.get("metric_collectors", []):
            registry.register(collector)
        app.extensions["metrics_registry"] = registry
    return registry


def add_collector(app: Flask, collector) -> None:
    """Serve a custom collector's metrics at /metrics."""
    app.extensions.setdefault("metric_collectors", []).append(collector)


ops = Blueprint("ops", __name__)


@ops.get("/healthz")
def healthz():
    """The process is alive."""
    return {"status": "ok", "service": current_app.config["SERVICE_NAME"]}


@ops.get("/readyz")
def readyz():
    """The service can reach its database."""
    try:
        with get_database().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means not ready
        return problem_response(503, "The database is not reachable.")
    return {"status": "ready", "service": current_app.config["SERVICE_NAME"]}


@ops.get("/metrics")
def metrics():
    """Prometheus metrics, behind the scrape token where there is one (README, "Scraping /metrics")."""
    refusal = _scrape_refusal()
    if refusal is not None:
        return refusal
    return Response(generate_latest(_metrics_registry(current_app)), mimetype=CONTENT_TYPE_LATEST)


def _scrape_refusal():
    """401 unless the request carries METRICS_TOKEN. A service whose metrics need it
    (METRICS_TOKEN_REQUIRED: kpi's figures) refuses every scrape while none is set; the others
    are open until one is set."""
    expected = current_app.config.get("METRICS_TOKEN")
    if not expected and not current_app.config.get("METRICS_TOKEN_REQUIRED"):
        return None
    given = bearer_token()
    if expected and given is not None and hmac.compare_digest(given.encode(), expected.encode()):
        return None
    if expected:
        detail = "Scraping needs the scrape token: send 'Authorization: Bearer <METRICS_TOKEN>'."
    else:
        detail = f"{current_app.config['SERVICE_NAME']} serves /metrics only once METRICS_TOKEN is set; Prometheus then sends it."
    return problem_response(401, detail, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})


def _start_request():
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response):
    elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    method = request.method if request.method in KNOWN_METHODS else "other"
    service = current_app.config["SERVICE_NAME"]
    HTTP_REQUESTS.labels(service, endpoint, method, str(response.status_code)).inc()
    HTTP_LATENCY.labels(service, endpoint).observe(elapsed)
    response.headers["X-Request-ID"] = g.get("request_id", "")
    _add_security_headers(response)
    principal = g.get("principal")
    access_log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,  # never the query string: it may carry secrets
            "status": response.status_code,
            "duration_ms": round(elapsed * 1000, 2),
            "principal": principal.subject if principal else None,
        },
    )
    return response


def _add_security_headers(response):
    if request.path.startswith("/docs"):
        # Swagger UI bootstraps itself with an inline script.
        csp = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"
    else:
        csp = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")


def init_app(app: Flask) -> None:
    """Register request ids, access logs, metrics, probes and security headers."""
    configure_logging(app.config["SERVICE_NAME"], app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.register_blueprint(ops)
