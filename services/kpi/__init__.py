"""The KPI service: the plan's goals, report compliance, activity progress and Tables 1-3.

It follows intake's change feed into a read model of its own, computes a snapshot of every
figure in one scheduler process, and serves that snapshot through its API and /metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from services.kpi.collector import SnapshotCollector
from services.kpi.config import FIXED, SETTINGS
from shared import db, observability, settings
from shared.api import init_api
from shared.catalog import catalog_at
from shared.introspection import resolver_for

SERVICE_DIR = Path(__file__).parent


def create_app(config: Mapping | None = None) -> Flask:
    """Build the KPI app; `config` overrides the environment's settings (tests)."""
    app = Flask(__name__)
    settings.configure(app.config, SETTINGS, FIXED, config)
    app.json.ensure_ascii = False  # Traditional Chinese stays readable in responses
    register_extensions(app)
    register_blueprints(app)
    return app


def register_extensions(app: Flask) -> None:
    catalog = app.extensions["catalog"] = catalog_at(app.config["CATALOG_PATH"])
    # One identity for the whole system: intake's tokens, verified by intake.
    app.extensions["token_resolver"] = resolver_for(app.config)
    observability.init_app(app)
    database = db.init_app(app)
    observability.add_collector(app, SnapshotCollector(database, app.config["CLOCK"], catalog))


def register_blueprints(app: Flask) -> None:
    from services.kpi.api import indicators, reports, status, tables

    api = init_api(
        app,
        "DGBV KPI",
        "The plan's figures, computed from intake's records: the outcome indicators against the "
        "3% goal, report compliance, activity progress, trends and Tables 1-3. Every route under "
        "/api/v1 needs `Authorization: Bearer <token>` with a token issued by intake.",
    )
    for module in (indicators, reports, tables, status):
        api.register_blueprint(module.blp)
