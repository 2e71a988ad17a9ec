"""The notify service: the plan's e-mails (reminders, notices, lists, alerts), never lost and never sent twice."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from services.notify.config import FIXED, SETTINGS
from services.notify.metrics import OutboxCollector
from services.notify.service import Notifier, check_settings
from shared import db, observability, settings
from shared.api import init_api
from shared.catalog import catalog_at
from shared.introspection import resolver_for
from shared.observability import add_collector

SERVICE_DIR = Path(__file__).parent


def create_app(config: Mapping | None = None) -> Flask:
    """Build the notify web app; `config` overrides the environment's settings (tests).

    The web app only writes (evaluations asked for, resends, silences); the
    scheduler process sends.
    """
    app = Flask(__name__)
    settings.configure(app.config, SETTINGS, FIXED, config)
    check_settings(app.config)
    app.json.ensure_ascii = False  # Traditional Chinese stays readable in responses
    register_extensions(app)
    register_blueprints(app)
    return app


def register_extensions(app: Flask) -> None:
    app.extensions["token_resolver"] = resolver_for(app.config)
    observability.init_app(app)
    app.extensions["catalog"] = catalog_at(app.config["CATALOG_PATH"])
    database = db.init_app(app)
    app.extensions["notifier"] = Notifier(app.config, database, catalog=app.extensions["catalog"])
    add_collector(app, OutboxCollector(database, app.config["CLOCK"]))


def register_blueprints(app: Flask) -> None:
    from services.notify.api import notifications, silences

    api = init_api(
        app,
        "DGBV notify",
        "Reminder, overdue, returned, reopened, accepted, falling-behind, locked-quarter and committee "
        "e-mails of New Taipei City's plan against digital gender-based violence: the outbox, "
        "evaluations on demand and silences. "
        "Every route needs `Authorization: Bearer <token>` of an admin or a coordinator.",
    )
    for module in (notifications, silences):
        api.register_blueprint(module.blp)
