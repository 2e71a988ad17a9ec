"""The intake API's blueprints and what their views share."""

from __future__ import annotations

from flask import current_app

from services.intake import idempotency, installation
from services.intake.reports import Rules
from shared.api import api_blueprint as shared_api_blueprint
from shared.catalog import Catalog
from shared.db import get_session


def api_blueprint(name: str, import_name: str, description: str):
    """The shared API blueprint, plus replays of POSTs retried with the same Idempotency-Key."""
    return shared_api_blueprint(name, import_name, description, idempotency.replay_if_seen)


def current_catalog() -> Catalog:
    return current_app.extensions["catalog"]


def now():
    return current_app.config["CLOCK"]()


def current_rules() -> Rules:
    """The plan's rules as they apply now, from the deployment's first tracked quarter on."""
    catalog = current_catalog()
    return Rules(catalog, installation.first_quarter(get_session(), catalog), now())
