"""The intake service: the system of record of the plan's reports, statistics and case records."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from services.intake import idempotency, kpi_client, tokens
from services.intake.config import FIXED, SETTINGS
from shared import db, observability, settings
from shared.api import init_api
from shared.catalog import catalog_at

SERVICE_DIR = Path(__file__).parent


def create_app(config: Mapping | None = None) -> Flask:
    """Build the intake app; `config` overrides the environment's settings (tests)."""
    app = Flask(__name__)
    settings.configure(app.config, SETTINGS, FIXED, config)
    app.json.ensure_ascii = False  # Traditional Chinese stays readable in responses
    if app.config["TRUSTED_PROXIES"]:
        # The client address sign-ins are counted against: only proxies we were told of may name it.
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    register_extensions(app)
    register_blueprints(app)
    return app


def register_extensions(app: Flask) -> None:
    app.extensions["catalog"] = catalog_at(app.config["CATALOG_PATH"])
    app.extensions["token_resolver"] = tokens.resolve_in_app
    app.extensions["kpi_client"] = kpi_client.client_for(app.config)  # the quarterly report's source
    observability.init_app(app)
    db.init_app(app)
    idempotency.init_app(app)  # after db: its hook must run before the commit


def register_blueprints(app: Flask) -> None:
    from services.intake import web
    from services.intake.api import admin, cases, plan, reports, users, workbooks

    api = init_api(
        app,
        "DGBV intake",
        "The system of record of New Taipei City's plan against digital gender-based violence: "
        "quarterly activity reports, targets, outcome statistics, anonymous case records and the "
        "change feed. Every route needs `Authorization: Bearer <token>`.",
    )
    for module in (plan, reports, workbooks, cases, admin, users):
        api.register_blueprint(module.blp)
    web.init_app(app)
